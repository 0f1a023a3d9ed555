//! Our CPU matmul on GGUF block-quantized weights (Q4_1, Q8_0), for burn's CPU backend (flex).
//!
//! Why it exists: flex holds every quantized value as an `i8` and dequantizes the whole matrix
//! on every matmul, so [`WeightMode::Quantized`](super::WeightMode) decodes ~20× slower than f32
//! there, and f32 weights make a decode step read ~540 MB for a 135M model. This kernel reads the
//! 4-bit (or 8-bit) values themselves: a decode step reads ~4.5× fewer bytes than f32.
//!
//! Exactness: every weight is dequantized exactly as the GGUF reader does (`q·d + m` for Q4_1,
//! `q·d` for Q8_0, in f32), so the weights equal [`WeightMode::F32`](super::WeightMode)'s; only
//! the order of the additions differs.
//!
//! Layout: GGUF's own, output-major — row `o` of the matrix is `input / 32` blocks along the
//! input — with the f16 block scales (and Q4_1 minimums) converted to f32 once at load, because
//! converting two f16 per block on every product would cost more than the product.
//!
//! Use: [`BlockMatrix::matmul`] for a few rows (decode, small batches), where reading the
//! weights dominates; [`BlockMatrix::dequantize`] for many rows (prefill), which then
//! go through burn's matmul (gemm) — with hundreds of rows the product, not the reading, is the
//! cost, and gemm does it better than this loop.

use crate::gguf::GgmlType;
use crate::gguf::dequant::f16_at;

/// Values per block.
const BLOCK: usize = 32;

/// The block encodings this kernel reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// 32 unsigned 4-bit values, `x = q·d + m` (values 0..16 of a block are the low nibbles of
    /// its 16 bytes, 16..32 the high nibbles).
    Q4_1,
    /// 32 signed bytes, `x = q·d`.
    Q8_0,
}

impl BlockKind {
    /// The kind a GGUF tensor type is, if this kernel reads it.
    pub fn of(ggml_type: GgmlType) -> Option<Self> {
        match ggml_type {
            GgmlType::Q4_1 => Some(BlockKind::Q4_1),
            GgmlType::Q8_0 => Some(BlockKind::Q8_0),
            _ => None,
        }
    }

    /// Bytes of one GGUF block.
    pub fn gguf_block_bytes(self) -> usize {
        match self {
            BlockKind::Q4_1 => 20,
            BlockKind::Q8_0 => 34,
        }
    }

    /// Bytes of quantized values per block (without scale and minimum).
    fn value_bytes(self) -> usize {
        match self {
            BlockKind::Q4_1 => 16,
            BlockKind::Q8_0 => 32,
        }
    }
}

/// A `[out, input]` matrix in GGUF blocks, ready for [`BlockMatrix::matmul`].
#[derive(Debug, Clone)]
pub struct BlockMatrix {
    kind: BlockKind,
    out: usize,
    input: usize,
    /// Quantized values, block after block, row after row.
    values: Vec<u8>,
    /// One scale `d` per block.
    scales: Vec<f32>,
    /// One minimum `m` per block (Q4_1 only).
    mins: Vec<f32>,
}

impl BlockMatrix {
    /// An empty matrix with `input` columns (a multiple of 32); append rows with
    /// [`BlockMatrix::push_rows`].
    pub fn new(kind: BlockKind, input: usize) -> Result<Self, String> {
        if input == 0 || !input.is_multiple_of(BLOCK) {
            return Err(format!(
                "block matrices need a multiple of {BLOCK} inputs, got {input}"
            ));
        }
        Ok(Self {
            kind,
            out: 0,
            input,
            values: Vec::new(),
            scales: Vec::new(),
            mins: Vec::new(),
        })
    }

    /// Append `rows` output rows given as raw GGUF blocks (as a GGUF tensor stores them).
    pub fn push_rows(&mut self, gguf_blocks: &[u8], rows: usize) -> Result<(), String> {
        let per_row = self.input / BLOCK;
        let bb = self.kind.gguf_block_bytes();
        if gguf_blocks.len() != rows * per_row * bb {
            return Err(format!(
                "{} bytes of {:?} blocks for {rows} rows of {} inputs (expected {})",
                gguf_blocks.len(),
                self.kind,
                self.input,
                rows * per_row * bb
            ));
        }
        let vb = self.kind.value_bytes();
        self.values.reserve(rows * per_row * vb);
        for block in gguf_blocks.chunks_exact(bb) {
            self.scales.push(f16_at(block, 0));
            match self.kind {
                BlockKind::Q4_1 => {
                    self.mins.push(f16_at(block, 2));
                    self.values.extend_from_slice(&block[4..20]);
                }
                BlockKind::Q8_0 => self.values.extend_from_slice(&block[2..34]),
            }
        }
        self.out += rows;
        Ok(())
    }

    /// Output rows.
    pub fn out(&self) -> usize {
        self.out
    }

    /// Input columns.
    pub fn input(&self) -> usize {
        self.input
    }

    /// Bytes held (values, scales, minimums).
    pub fn bytes(&self) -> usize {
        self.values.len() + 4 * (self.scales.len() + self.mins.len())
    }

    /// `y = x·Wᵀ` for `rows` rows of `x` (row-major `[rows, input]`): row-major `[rows, out]`.
    pub fn matmul(&self, x: &[f32], rows: usize) -> Result<Vec<f32>, String> {
        if x.len() != rows * self.input {
            return Err(format!(
                "{} input values for {rows} rows of {}",
                x.len(),
                self.input
            ));
        }
        if rows == 0 {
            return Ok(Vec::new());
        }
        // `x` as fixed-size blocks (row after row), once for all tasks: the kernel's loops then
        // run over arrays without bounds checks.
        let x_blocks: Vec<&[f32; BLOCK]> = x
            .chunks_exact(BLOCK)
            .filter_map(|c| c.try_into().ok())
            .collect();
        // Outputs in chunks, each written as `[chunk, rows]` (contiguous per chunk, so chunks
        // can run on threads), then transposed to `[rows, out]`.
        let mut by_output = vec![0.0f32; self.out * rows];
        let chunk = OUTPUTS_PER_TASK;
        let work = |(c, dst): (usize, &mut [f32])| {
            self.rows_dot(c * chunk, &x_blocks, rows, dst);
        };
        // On threads, decode's one-row products split too. In the browser that pays only
        // because the whole forward pass runs inside the pool (`LlamaModel::forward`): the
        // thread that splits a product then works on it itself instead of sleeping until a
        // woken pool thread has done it.
        super::chunks::for_each_chunk_mut(&mut by_output, chunk * rows, work);
        let mut y = vec![0.0f32; rows * self.out];
        for (o, per_row) in by_output.chunks_exact(rows).enumerate() {
            for (r, &v) in per_row.iter().enumerate() {
                y[r * self.out + o] = v;
            }
        }
        Ok(y)
    }

    /// Outputs from `first` on for every row, into `dst` as `[outputs, rows]` (as many
    /// outputs as `dst` holds).
    fn rows_dot(&self, first: usize, x: &[&[f32; BLOCK]], rows: usize, dst: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (checked just above), which is all the
            // `target_feature` function asks for; it is otherwise the same safe code.
            unsafe { self.rows_dot_avx2(first, x, rows, dst) };
            return;
        }
        self.rows_dot_portable(first, x, rows, dst);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn rows_dot_avx2(&self, first: usize, x: &[&[f32; BLOCK]], rows: usize, dst: &mut [f32]) {
        self.rows_dot_portable(first, x, rows, dst);
    }

    /// The kernel. Each block is dequantized once into 32 f32 weights, then multiplied into
    /// every row's 32 accumulator lanes; lanes are summed once per output. Written as plain
    /// fixed-size loops over arrays (no bounds checks inside) so that the compiler vectorises
    /// them: SSE/AVX2 natively, simd128 in wasm.
    #[inline(always)]
    fn rows_dot_portable(
        &self,
        first: usize,
        x_blocks: &[&[f32; BLOCK]],
        rows: usize,
        dst: &mut [f32],
    ) {
        let per_row = self.input / BLOCK;
        let vb = self.kind.value_bytes();
        let mut acc = vec![[0.0f32; BLOCK]; if rows > 1 { rows } else { 0 }];
        for (k, out_row) in dst.chunks_exact_mut(rows).enumerate() {
            let o = first + k;
            let blocks = o * per_row..(o + 1) * per_row;
            let values = self.values[blocks.start * vb..blocks.end * vb].chunks_exact(vb);
            let scales = &self.scales[blocks.clone()];
            let mins = match self.kind {
                BlockKind::Q4_1 => &self.mins[blocks],
                BlockKind::Q8_0 => &[][..],
            };
            if rows == 1 {
                // Decode: one accumulator, kept in registers across the row.
                let mut a = [0.0f32; BLOCK];
                for (b, (q, &d)) in values.zip(scales).enumerate() {
                    let w = self.block_weights(q, d, mins.get(b).copied().unwrap_or(0.0));
                    let xb = x_blocks[b];
                    for j in 0..BLOCK {
                        a[j] += w[j] * xb[j];
                    }
                }
                out_row[0] = a.iter().sum();
                continue;
            }
            for a in acc.iter_mut() {
                *a = [0.0; BLOCK];
            }
            for (b, (q, &d)) in values.zip(scales).enumerate() {
                let w = self.block_weights(q, d, mins.get(b).copied().unwrap_or(0.0));
                for (r, a) in acc.iter_mut().enumerate() {
                    let xb = x_blocks[r * per_row + b];
                    for j in 0..BLOCK {
                        a[j] += w[j] * xb[j];
                    }
                }
            }
            for (v, a) in out_row.iter_mut().zip(&acc) {
                *v = a.iter().sum();
            }
        }
    }

    /// One block's 32 weights, exactly as the GGUF reader dequantizes them.
    #[inline(always)]
    fn block_weights(&self, q: &[u8], d: f32, m: f32) -> [f32; BLOCK] {
        let mut w = [0.0f32; BLOCK];
        match self.kind {
            BlockKind::Q4_1 => {
                let q: &[u8; 16] = match q.try_into() {
                    Ok(q) => q,
                    Err(_) => return w,
                };
                for j in 0..16 {
                    w[j] = f32::from(q[j] & 0x0F) * d + m;
                    w[j + 16] = f32::from(q[j] >> 4) * d + m;
                }
            }
            BlockKind::Q8_0 => {
                let q: &[u8; BLOCK] = match q.try_into() {
                    Ok(q) => q,
                    Err(_) => return w,
                };
                for j in 0..BLOCK {
                    w[j] = f32::from(q[j] as i8) * d;
                }
            }
        }
        w
    }

    /// The whole matrix as f32, output-major `[out, input]` (row-major, GGUF's orientation):
    /// written in order, block after block; `x.matmul(wᵀ)` takes it as a transposed view.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut w = Vec::with_capacity(self.input * self.out);
        let vb = self.kind.value_bytes();
        for (b, (q, &d)) in self.values.chunks_exact(vb).zip(&self.scales).enumerate() {
            let m = self.mins.get(b).copied().unwrap_or(0.0);
            w.extend_from_slice(&self.block_weights(q, d, m));
        }
        w
    }
}

/// Outputs per task: enough work per task (~64 × input multiply-adds per row) to be worth a
/// thread hand-off, small enough that 2–16 threads stay busy on a 576-output matrix.
const OUTPUTS_PER_TASK: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::dequantize;

    /// Deterministic pseudo-random bytes (xorshift), so the test needs no dependency.
    fn bytes(n: usize, mut seed: u64) -> Vec<u8> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 24) as u8
            })
            .collect()
    }

    /// GGUF blocks with sane f16 scales (random bytes would include NaN/inf scales).
    fn blocks(kind: BlockKind, n_blocks: usize, seed: u64) -> Vec<u8> {
        let mut out = bytes(n_blocks * kind.gguf_block_bytes(), seed);
        for (i, block) in out.chunks_exact_mut(kind.gguf_block_bytes()).enumerate() {
            let d = half::f16::from_f32(0.01 + 0.001 * (i % 7) as f32).to_le_bytes();
            block[..2].copy_from_slice(&d);
            if kind == BlockKind::Q4_1 {
                let m = half::f16::from_f32(-0.05 - 0.002 * (i % 5) as f32).to_le_bytes();
                block[2..4].copy_from_slice(&m);
            }
        }
        out
    }

    fn reference(w: &[f32], out: usize, input: usize, x: &[f32], rows: usize) -> Vec<f32> {
        let mut y = vec![0.0f64; rows * out];
        for r in 0..rows {
            for o in 0..out {
                y[r * out + o] = (0..input)
                    .map(|i| f64::from(w[o * input + i]) * f64::from(x[r * input + i]))
                    .sum();
            }
        }
        y.into_iter().map(|v| v as f32).collect()
    }

    fn check(kind: BlockKind, ggml: GgmlType, out: usize, input: usize, rows: usize) {
        let raw = blocks(kind, out * input / BLOCK, 0x9E37_79B9 ^ out as u64);
        // The GGUF reader's own dequantization is the reference for the weights.
        let w = dequantize(ggml, &raw, out * input).expect("dequantize");
        let mut m = BlockMatrix::new(kind, input).expect("matrix");
        // Two pushes, as the loader stacks Q|K|V.
        let split = (out / 3) * (input / BLOCK) * kind.gguf_block_bytes();
        m.push_rows(&raw[..split], out / 3).expect("first rows");
        m.push_rows(&raw[split..], out - out / 3)
            .expect("other rows");
        assert_eq!(m.out(), out);

        let x: Vec<f32> = bytes(rows * input, 7)
            .iter()
            .map(|&b| (f32::from(b) - 127.5) / 64.0)
            .collect();
        let got = m.matmul(&x, rows).expect("matmul");
        let want = reference(&w, out, input, &x, rows);
        let scale = want.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        for (i, (g, e)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - e).abs() <= 1e-5 * scale.max(1.0),
                "{kind:?} {out}x{input} rows {rows}: y[{i}] = {g}, expected {e}"
            );
        }

        let t = m.dequantize();
        assert_eq!(t.len(), w.len());
        for (i, (a, b)) in t.iter().zip(&w).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "w[{}][{}]", i / input, i % input);
        }
    }

    #[test]
    fn q4_1_products_match_the_dequantized_weights() {
        for rows in [1, 3, 16] {
            check(BlockKind::Q4_1, GgmlType::Q4_1, 100, 96, rows);
        }
    }

    #[test]
    fn q8_0_products_match_the_dequantized_weights() {
        for rows in [1, 5] {
            check(BlockKind::Q8_0, GgmlType::Q8_0, 70, 64, rows);
        }
    }

    #[test]
    fn refuses_shapes_it_cannot_hold() {
        assert!(BlockMatrix::new(BlockKind::Q4_1, 33).is_err());
        let mut m = BlockMatrix::new(BlockKind::Q8_0, 32).expect("matrix");
        assert!(m.push_rows(&[0u8; 33], 1).is_err());
        assert!(m.push_rows(&[0u8; 34], 1).is_ok());
        assert!(m.matmul(&[0.0; 31], 1).is_err());
    }
}
