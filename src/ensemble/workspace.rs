//! Memory reused from one ensemble to the next, owned by whoever runs the ensembles.
//!
//! A sweep or a workshop page runs thousands of small ensembles; making each worker's blocks
//! and accumulators anew (about 6.4 MB for the reference territory: every page faulted in,
//! written, and given back to the system at the end) cost a 1,000-run ensemble on 2 threads
//! about a millisecond of its twenty. A [`Workspace`] keeps them: the scheduler takes its
//! blocks from it and gives them back, and accumulators merged into another go back to it.
//! A caller that runs one ensemble makes a workspace and drops it; one that runs many keeps
//! one. Nothing is global: two workspaces never share memory, and dropping one frees it.

use std::sync::{Mutex, MutexGuard};

use super::Accumulator;
use crate::engine::{Block, Engine};

/// Most bytes a workspace keeps: past them, what is given back is freed (the newest spares
/// replace the oldest: they are the likeliest to fit the next ensemble).
const KEPT_BYTES: usize = 512 << 20;

/// Spare blocks and accumulators of finished ensembles, kept for later ones.
#[derive(Debug, Default)]
pub struct Workspace {
    blocks: Mutex<Spares<Block>>,
    accumulators: Mutex<Spares<Accumulator>>,
}

#[derive(Debug)]
struct Spares<T> {
    items: Vec<(T, usize)>,
    bytes: usize,
}

impl<T> Default for Spares<T> {
    fn default() -> Self {
        Spares {
            items: Vec::new(),
            bytes: 0,
        }
    }
}

impl<T> Spares<T> {
    /// Takes a spare that `fits`, if there is one.
    fn take(&mut self, fits: impl Fn(&T) -> bool) -> Option<T> {
        let i = self.items.iter().position(|(x, _)| fits(x))?;
        let (item, bytes) = self.items.swap_remove(i);
        self.bytes -= bytes;
        Some(item)
    }

    /// Keeps a spare of `bytes` bytes, freeing the oldest ones past [`KEPT_BYTES`].
    fn keep(&mut self, item: T, bytes: usize) {
        if bytes > KEPT_BYTES {
            return;
        }
        while self.bytes + bytes > KEPT_BYTES && !self.items.is_empty() {
            let (_, b) = self.items.remove(0);
            self.bytes -= b;
        }
        self.items.push((item, bytes));
        self.bytes += bytes;
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding the lock; and a list left half-updated is still a list.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Workspace {
    /// An empty workspace.
    pub fn new() -> Workspace {
        Workspace::default()
    }

    /// A block for `engine`: a spare one if one fits, else a new one.
    pub fn block(&self, engine: &Engine) -> Block {
        let spare = lock(&self.blocks).take(|b| engine.fits(b));
        spare.unwrap_or_else(|| engine.new_block())
    }

    /// Keeps a block of `engine` for later ensembles.
    pub fn keep_block(&self, engine: &Engine, block: Block) {
        let bytes = engine.block_bytes();
        lock(&self.blocks).keep(block, bytes);
    }

    /// An empty accumulator for `engine` (see [`Accumulator::new`]): a spare one if one fits,
    /// else a new one.
    pub fn accumulator(&self, engine: &Engine, logging: bool) -> Accumulator {
        match lock(&self.accumulators).take(|a| a.fits(engine)) {
            Some(mut acc) => {
                acc.reset(engine, logging);
                acc
            }
            None => Accumulator::new(engine, logging),
        }
    }

    /// Keeps an accumulator (whatever it holds) for later ensembles.
    pub fn keep_accumulator(&self, acc: Accumulator) {
        let bytes = acc.bytes();
        lock(&self.accumulators).keep(acc, bytes);
    }

    /// Frees everything kept.
    pub fn release(&self) {
        let blocks = std::mem::take(&mut *lock(&self.blocks));
        let accumulators = std::mem::take(&mut *lock(&self.accumulators));
        drop((blocks, accumulators));
    }
}
