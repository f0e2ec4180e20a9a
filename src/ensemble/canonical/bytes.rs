//! The byte encoding of saved aggregates: [`Writer`] and [`Reader`].

use super::{mismatch, Header, Mismatch, FORMAT};

/// Writes the canonical encoding: unsigned integers in LEB128, floats as their 8
/// little-endian bytes, texts and lists prefixed by their length, sparse rows as the
/// differences between successive bins and their counts.
#[derive(Debug, Default)]
pub struct Writer {
    /// What was written.
    pub bytes: Vec<u8>,
}

impl Writer {
    /// An unsigned integer.
    pub fn u128(&mut self, mut x: u128) {
        loop {
            let byte = (x & 0x7f) as u8;
            x >>= 7;
            if x == 0 {
                self.bytes.push(byte);
                return;
            }
            self.bytes.push(byte | 0x80);
        }
    }

    /// An unsigned integer.
    pub fn u64(&mut self, x: u64) {
        self.u128(u128::from(x));
    }

    /// A length.
    pub fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }

    /// A float, bit for bit.
    pub fn f64(&mut self, x: f64) {
        self.bytes.extend_from_slice(&x.to_bits().to_le_bytes());
    }

    /// A text.
    pub fn text(&mut self, s: &str) {
        self.len(s.len());
        self.bytes.extend_from_slice(s.as_bytes());
    }

    /// A list of unsigned integers.
    pub fn u64s(&mut self, xs: &[u64]) {
        self.len(xs.len());
        xs.iter().for_each(|&x| self.u64(x));
    }

    /// A sparse row: (bin, count) pairs with increasing bins.
    pub fn sparse(&mut self, row: &[(u16, u64)]) {
        self.len(row.len());
        let mut last = 0u16;
        for &(bin, count) in row {
            self.u64(u64::from(bin - last));
            self.u64(count);
            last = bin;
        }
    }

    /// A header.
    pub fn header(&mut self, h: &Header) {
        self.u64(u64::from(h.format));
        self.u64(u64::from(h.draw_stream));
        self.text(&h.program);
        self.text(&h.fingerprint);
        self.u64(h.seed);
        self.u64(u64::from(h.substeps));
        self.u64(u64::from(h.deterministic));
        self.len(h.runs.len());
        for &(first, count) in &h.runs {
            self.u64(first);
            self.u64(count);
        }
    }
}

/// Reads the canonical encoding, refusing (never panicking on) anything malformed.
#[derive(Debug)]
pub struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'b [u8]) -> Reader<'b> {
        Reader { bytes, at: 0 }
    }

    fn truncated<T>(&self, what: &str) -> Result<T, Mismatch> {
        mismatch(format!(
            "the content ends early or is corrupted (reading {what} at byte {})",
            self.at
        ))
    }

    /// An unsigned integer.
    pub fn u128(&mut self, what: &str) -> Result<u128, Mismatch> {
        let (mut x, mut shift) = (0u128, 0u32);
        loop {
            let Some(&byte) = self.bytes.get(self.at) else {
                return self.truncated(what);
            };
            self.at += 1;
            let bits = u128::from(byte & 0x7f);
            // Past 128 bits, or bits that would be shifted out: not a number we wrote.
            if shift >= 128 || (shift > 121 && bits >> (128 - shift) != 0) {
                return self.truncated(what);
            }
            x |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(x);
            }
            shift += 7;
        }
    }

    /// An unsigned integer of at most 64 bits.
    pub fn u64(&mut self, what: &str) -> Result<u64, Mismatch> {
        let x = self.u128(what)?;
        u64::try_from(x).or_else(|_| self.truncated(what))
    }

    /// An integer in `lo..hi`.
    pub fn small(&mut self, what: &str, lo: u32, hi: u32) -> Result<u32, Mismatch> {
        let x = self.u64(what)?;
        if x < u64::from(lo) || x >= u64::from(hi) {
            return self.truncated(what);
        }
        Ok(x as u32)
    }

    /// A length of a list whose items take at least `item_bytes` bytes each: never more than
    /// what is left could hold.
    pub fn len(&mut self, what: &str, item_bytes: usize) -> Result<usize, Mismatch> {
        let n = self.u64(what)?;
        let left = (self.bytes.len() - self.at) as u64;
        if n > left / item_bytes.max(1) as u64 {
            return self.truncated(what);
        }
        Ok(n as usize)
    }

    /// A float.
    pub fn f64(&mut self, what: &str) -> Result<f64, Mismatch> {
        let Some(bytes) = self.bytes.get(self.at..self.at + 8) else {
            return self.truncated(what);
        };
        self.at += 8;
        let mut word = [0u8; 8];
        word.copy_from_slice(bytes);
        Ok(f64::from_bits(u64::from_le_bytes(word)))
    }

    /// A text.
    pub fn text(&mut self, what: &str) -> Result<String, Mismatch> {
        let n = self.len(what, 1)?;
        let bytes = &self.bytes[self.at..self.at + n];
        self.at += n;
        String::from_utf8(bytes.to_vec()).or_else(|_| self.truncated(what))
    }

    /// A list of unsigned integers.
    pub fn u64s(&mut self, what: &str) -> Result<Vec<u64>, Mismatch> {
        let n = self.len(what, 1)?;
        (0..n).map(|_| self.u64(what)).collect()
    }

    /// A sparse row of at most `bins` bins.
    pub fn sparse(&mut self, what: &str, bins: usize) -> Result<Vec<(u16, u64)>, Mismatch> {
        let n = self.len(what, 2)?;
        let mut out = Vec::with_capacity(n);
        let mut last = 0u64;
        for k in 0..n {
            let bin = last + self.u64(what)?;
            let count = self.u64(what)?;
            if (k > 0 && bin == last) || bin >= bins as u64 || count == 0 {
                return self.truncated(what);
            }
            out.push((bin as u16, count));
            last = bin;
        }
        Ok(out)
    }

    /// A header.
    pub fn header(&mut self) -> Result<Header, Mismatch> {
        let format = self.u64("the format version")?;
        if format != u64::from(FORMAT) {
            return mismatch(format!(
                "it is in format {format}; this program reads format {FORMAT} (made by another version of trajectoire?)"
            ));
        }
        let draw_stream = self.small("the draw-stream version", 0, u32::MAX)?;
        let program = self.text("the program version")?;
        let fingerprint = self.text("the scenario's fingerprint")?;
        let seed = self.u64("the seed")?;
        let substeps = self.small("the substeps", 1, 1001)?;
        let deterministic = self.small("whether it is deterministic", 0, 2)? == 1;
        let n = self.len("the runs", 2)?;
        let mut runs = Vec::with_capacity(n);
        for _ in 0..n {
            runs.push((self.u64("the first run")?, self.u64("the number of runs")?));
        }
        Ok(Header {
            format: FORMAT,
            draw_stream,
            program,
            fingerprint,
            seed,
            substeps,
            deterministic,
            runs,
        })
    }

    /// Checks that everything was read.
    pub fn end(&self) -> Result<(), Mismatch> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            mismatch(format!(
                "{} bytes follow the end of the content",
                self.bytes.len() - self.at
            ))
        }
    }
}
