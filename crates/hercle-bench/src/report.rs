//! What every client suite shares: reading its settings from the
//! environment, writing the latency file, and printing figures as decimal
//! text with integer arithmetic only (the workspace denies float arithmetic,
//! and the figures are ratios of counters anyway).

/// Environment variable `name` parsed, or `default` when unset.
pub(crate) fn var<T: std::str::FromStr>(name: &str, default: Option<T>) -> Result<T, String> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{name}: cannot parse {v:?}")),
        Err(_) => default.ok_or_else(|| format!("{name} is required")),
    }
}

/// Writes `BENCH_LAT_FILE`'s format: one little-endian int64 per sample, no header.
pub(crate) fn write_latencies(path: &str, latencies: &[i64]) -> Result<(), String> {
    let bytes: Vec<u8> = latencies.iter().flat_map(|l| l.to_le_bytes()).collect();
    std::fs::write(path, bytes).map_err(|e| format!("{path}: {e}"))
}

/// `num / den` as decimal text with `places` decimals, rounded down
/// (`den` 0 counts as 1).
pub(crate) fn ratio(num: u64, den: u64, places: u32) -> String {
    let scale = 10u128.pow(places);
    let scaled = u128::from(num) * scale / u128::from(den.max(1));
    let (int, frac) = (scaled / scale, scaled % scale);
    if places == 0 {
        return int.to_string();
    }
    format!("{int}.{frac:0width$}", width = places as usize)
}

#[cfg(test)]
mod tests {
    use super::ratio;

    #[test]
    fn ratios_print_as_decimals() {
        assert_eq!(ratio(1_500_000, 1_000_000, 6), "1.500000");
        assert_eq!(ratio(2, 3, 2), "0.66");
        assert_eq!(ratio(7, 0, 1), "7.0");
        assert_eq!(ratio(10, 4, 0), "2");
    }
}
