use burn::tensor::{Device, Distribution, Tensor};
use std::time::Instant;

fn main() {
    let d = Device::flex();
    for (k, n) in [(576usize, 49152usize), (576, 3072), (1536, 576), (576, 960)] {
        let w = Tensor::<2>::random([k, n], Distribution::Default, &d);
        let x = Tensor::<2>::random([1, k], Distribution::Default, &d);
        let _ = x.clone().matmul(w.clone()).into_data();
        let t = Instant::now();
        let reps = 20;
        for _ in 0..reps {
            let _ = x.clone().matmul(w.clone()).into_data();
        }
        let s = t.elapsed().as_secs_f64() / reps as f64;
        println!(
            "[1,{k}]x[{k},{n}] {:.3} ms  {:.1} GB/s",
            s * 1e3,
            (k * n * 4) as f64 / s / 1e9
        );
        // transposed weight layout: x · Wt^T
        let wt = Tensor::<2>::random([n, k], Distribution::Default, &d);
        let t = Instant::now();
        for _ in 0..reps {
            let _ = x.clone().matmul(wt.clone().transpose()).into_data();
        }
        let s = t.elapsed().as_secs_f64() / reps as f64;
        println!(
            "   transposed view: {:.3} ms  {:.1} GB/s",
            s * 1e3,
            (k * n * 4) as f64 / s / 1e9
        );
    }
}
