//! HTTP byte ranges (RFC 9110 §14) for `GET {prefix}/file=`: what part of a file a `Range`
//! header asks for. One range is served as `206 Partial Content`; a header that asks for
//! several ranges, or that cannot be parsed, is ignored and the whole file is sent, as the
//! RFC allows. Browsers' audio and video elements and download managers send one range.

use http::HeaderValue;

/// What to send of a file of a known length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    /// The whole file (no usable `Range`).
    Whole,
    /// Bytes `start..=end` (inclusive, within the file).
    Range { start: u64, end: u64 },
    /// The range lies outside the file: `416 Range Not Satisfiable`.
    Unsatisfiable,
}

/// The part of a file of `len` bytes that `range` asks for. `if_range` present means the
/// client holds a copy it wants validated; this server sends no validators, so it gets the
/// whole file (RFC 9110 §13.1.5).
pub(crate) fn part(range: Option<&HeaderValue>, if_range: bool, len: u64) -> Part {
    let Some(spec) = range
        .and_then(|v| v.to_str().ok())
        .filter(|_| !if_range)
        .and_then(|v| {
            let (unit, set) = v.trim().split_once('=')?;
            unit.trim()
                .eq_ignore_ascii_case("bytes")
                .then_some(set.trim())
        })
    else {
        return Part::Whole;
    };
    if spec.contains(',') {
        return Part::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Part::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Digits that overflow still name a position past any file.
        Some(s.parse().unwrap_or(u64::MAX))
    };
    match (first.trim().is_empty(), number(first), number(last)) {
        // `-n`: the last n bytes.
        (true, _, Some(n)) => {
            if n == 0 || len == 0 {
                Part::Unsatisfiable
            } else {
                Part::Range {
                    start: len.saturating_sub(n),
                    end: len - 1,
                }
            }
        }
        // `a-` and `a-b`.
        (false, Some(start), end) if last.trim().is_empty() || end.is_some() => {
            if end.is_some_and(|e| e < start) {
                return Part::Whole;
            }
            if start >= len {
                return Part::Unsatisfiable;
            }
            Part::Range {
                start,
                end: end.map_or(len - 1, |e| e.min(len - 1)),
            }
        }
        _ => Part::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::{part, Part};
    use http::HeaderValue;

    fn of(range: &str, len: u64) -> Part {
        part(Some(&HeaderValue::from_str(range).unwrap()), false, len)
    }

    #[test]
    fn ranges() {
        let r = |start, end| Part::Range { start, end };
        assert_eq!(of("bytes=0-0", 10), r(0, 0));
        assert_eq!(of("bytes=2-5", 10), r(2, 5));
        assert_eq!(of("bytes=2-", 10), r(2, 9));
        assert_eq!(of("bytes=2-100", 10), r(2, 9));
        assert_eq!(of("bytes=-3", 10), r(7, 9));
        assert_eq!(of("bytes=-30", 10), r(0, 9));
        assert_eq!(of("Bytes = 1-2", 10), r(1, 2));
        assert_eq!(
            of("bytes=99999999999999999999999-", 10),
            Part::Unsatisfiable
        );
        assert_eq!(of("bytes=10-", 10), Part::Unsatisfiable);
        assert_eq!(of("bytes=-0", 10), Part::Unsatisfiable);
        assert_eq!(of("bytes=0-", 0), Part::Unsatisfiable);
        assert_eq!(of("bytes=-5", 0), Part::Unsatisfiable);
        for ignored in [
            "bytes=5-2",
            "bytes=0-1,4-5",
            "items=0-1",
            "bytes=x-1",
            "bytes=1",
            "bytes=--1",
            "bytes=+1-2",
            "",
        ] {
            assert_eq!(of(ignored, 10), Part::Whole, "{ignored:?}");
        }
        assert_eq!(part(None, false, 10), Part::Whole);
        assert_eq!(
            part(Some(&HeaderValue::from_static("bytes=0-1")), true, 10),
            Part::Whole
        );
    }
}
