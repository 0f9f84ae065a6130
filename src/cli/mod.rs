//! One module per subcommand: each has `Args` (clap) and `run(Args) -> anyhow::Result<()>`.

pub(crate) mod bench;
#[cfg(feature = "bevy")]
pub(crate) mod demo;
pub(crate) mod encoders;
pub(crate) mod predict;
pub(crate) mod recv;
#[cfg(feature = "bevy")]
pub(crate) mod render;
pub(crate) mod rgbd_sweep;
pub(crate) mod roundtrip;
pub(crate) mod send;
pub(crate) mod serve;
pub(crate) mod sweep;

/// Exit codes of `depthcast` (documented in `depthcast recv --help` and the README).
pub(crate) mod exit {
    use depthcast_stream::{FailureKind, StreamError};

    /// Another error.
    pub(crate) const OTHER: u8 = 1;
    /// Nothing arrived: no sender, a wrong address, an SRT handshake rejected.
    pub(crate) const NO_STREAM: u8 = 3;
    /// Something arrived, but no valid depth stream.
    pub(crate) const BAD_STREAM: u8 = 4;
    /// A file or address could not be opened, read or written.
    pub(crate) const IO: u8 = 5;

    /// The help text's table of exit codes.
    pub(crate) const HELP: &str = "Exit codes: 0 the stream was received (it ended, or stopped for --timeout after frames); \
1 another error; 2 a bad command line; 3 no stream: nothing arrived within --timeout (no sender, a wrong address, \
an SRT passphrase that differs from the sender's); 4 bad stream: data arrived but no valid depth frame (garbage, \
a stream without depthcast parameters, parameters that disagree with the frames); 5 I/O: a file or address could \
not be opened, read or written.";

    /// A receive that ended without a valid frame (no error from the receiver: the stream
    /// ended), with its kind.
    #[derive(Debug, thiserror::Error)]
    #[error("{message}")]
    pub(crate) struct NoFrames {
        pub(crate) kind: FailureKind,
        pub(crate) message: String,
    }

    /// The exit code for an error: the first cause in its chain that has a kind.
    pub(crate) fn code(e: &anyhow::Error) -> u8 {
        for cause in e.chain() {
            let kind = if let Some(s) = cause.downcast_ref::<StreamError>() {
                s.kind()
            } else if let Some(n) = cause.downcast_ref::<NoFrames>() {
                n.kind
            } else if let Some(c) = cause.downcast_ref::<depthcast_codec::CodecError>() {
                FailureKind::of_codec(c)
            } else if cause.downcast_ref::<std::io::Error>().is_some() {
                FailureKind::Io
            } else {
                continue;
            };
            return match kind {
                FailureKind::NoStream => NO_STREAM,
                FailureKind::BadStream => BAD_STREAM,
                FailureKind::Io => IO,
                _ => OTHER,
            };
        }
        OTHER
    }
}

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

    #[test]
    fn a_risk_score_is_two_weights_the_chosen_one_or_off() {
        use depthcast_stream::Risk;

        use super::send::{RiskRule, parse_risk};
        assert_eq!(parse_risk("0.5,1"), Ok(RiskRule(Some(Risk { rho: 0.5, keep: 1.0 }))));
        assert_eq!(parse_risk("chosen"), Ok(RiskRule(Some(Risk::CHOSEN))));
        assert_eq!(parse_risk("off"), Ok(RiskRule(None)));
        for bad in ["", "0.5", "0.5,1,1", "1.5,0.8", "0.25,-1", "high"] {
            assert!(parse_risk(bad).is_err(), "{bad}");
        }
    }
}
