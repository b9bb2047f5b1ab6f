//! The benches' summary of a figure over rounds: the median (for an even count, the mean of
//! the two middle values, so that it favours neither side of a goal) and the range.

/// The median of `v`; `NaN` if it is empty.
pub fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n => (v[(n - 1) / 2] + v[n / 2]) / 2.0,
    }
}

/// The smallest and largest of `v`.
#[allow(dead_code)] // not every bench prints a range
pub fn range(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}
