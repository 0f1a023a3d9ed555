//! One rule for the CPU kernels' parallel loops: an output buffer in chunks, on rayon's pool
//! where the build has threads (native builds, the browser's threaded module), one chunk after
//! another on the calling thread in the single-thread wasm module (which has no pool).

/// `work((index, chunk))` for every `chunk_len`-value chunk of `out` (the last may be shorter).
pub(crate) fn for_each_chunk_mut<F>(out: &mut [f32], chunk_len: usize, work: F)
where
    F: Fn((usize, &mut [f32])) + Send + Sync,
{
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(chunk_len).enumerate().for_each(work);
    }
    #[cfg(all(target_arch = "wasm32", not(feature = "threads")))]
    out.chunks_mut(chunk_len).enumerate().for_each(work);
}
