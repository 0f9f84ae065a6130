//! One module per subcommand: each has `Args` (clap) and `run(Args) -> anyhow::Result<()>`.

pub(crate) mod bench;
#[cfg(feature = "bevy")]
pub(crate) mod demo;
pub(crate) mod encoders;
pub(crate) mod predict;
pub(crate) mod recv;
#[cfg(feature = "bevy")]
pub(crate) mod render;
pub(crate) mod roundtrip;
pub(crate) mod send;
pub(crate) mod sweep;

/// Parses a bitrate in bit/s: `2M`, `1.5M`, `2000k`, `2000000` (the one syntax of every
/// subcommand's `--bitrate`).
pub(crate) fn parse_bitrate(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, scale) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1e3),
        Some((i, 'm' | 'M')) => (&t[..i], 1e6),
        Some((i, 'g' | 'G')) => (&t[..i], 1e9),
        _ => (t, 1.0),
    };
    let v: f64 =
        num.trim().parse().map_err(|_| format!("{s:?} is not a bitrate: use e.g. 2M, 1.5M, 2000k or 2000000"))?;
    if !(v.is_finite() && v > 0.0) {
        return Err(format!("bitrate {s:?} must be above 0"));
    }
    Ok((v * scale).round() as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bitrates_parse_in_one_syntax() {
        for (s, want) in [("2M", 2_000_000), ("1.5m", 1_500_000), ("2000k", 2_000_000), ("640000", 640_000)] {
            assert_eq!(super::parse_bitrate(s), Ok(want), "{s}");
        }
        for bad in ["", "fast", "-1M", "0", "2 Mbit"] {
            assert!(super::parse_bitrate(bad).is_err(), "{bad}");
        }
    }
}
