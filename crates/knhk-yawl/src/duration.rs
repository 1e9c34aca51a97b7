//! `xs:duration` (`PnYnMnDTnHnMnS`) and YAWL's `durationparams` in milliseconds.

/// A duration in milliseconds, and whether years or months had to be approximated
/// (365 and 30 days: a calendar-free duration cannot be exact for them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Millis {
    pub(crate) ms: u64,
    pub(crate) approximate: bool,
}

const SECOND: f64 = 1_000.0;
const MINUTE: f64 = 60.0 * SECOND;
const HOUR: f64 = 60.0 * MINUTE;
const DAY: f64 = 24.0 * HOUR;
const MONTH: f64 = 30.0 * DAY;
const YEAR: f64 = 365.0 * DAY;

/// Parses a non-negative `xs:duration`; `None` if it is not one.
pub(crate) fn parse(text: &str) -> Option<Millis> {
    let rest = text.trim().strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) if !time.is_empty() => (date, Some(time)),
        Some(_) => return None,
        None => (rest, None),
    };
    if date.is_empty() && time.is_none() {
        return None;
    }
    let mut total = 0.0;
    let mut approximate = false;
    for (value, unit) in components(date)? {
        total += value
            * match unit {
                'Y' => {
                    approximate = true;
                    YEAR
                }
                'M' => {
                    approximate = true;
                    MONTH
                }
                'W' => 7.0 * DAY,
                'D' => DAY,
                _ => return None,
            };
    }
    for (value, unit) in components(time.unwrap_or(""))? {
        total += value
            * match unit {
                'H' => HOUR,
                'M' => MINUTE,
                'S' => SECOND,
                _ => return None,
            };
    }
    finite_ms(total, approximate)
}

/// Splits `1Y2M` into `[(1, 'Y'), (2, 'M')]`; only seconds may have a fraction.
fn components(text: &str) -> Option<Vec<(f64, char)>> {
    let mut out = Vec::new();
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
        } else {
            if number.is_empty() || (number.contains('.') && c != 'S') {
                return None;
            }
            out.push((number.parse().ok()?, c));
            number.clear();
        }
    }
    number.is_empty().then_some(out)
}

/// YAWL's `durationparams`: `ticks` of an `interval`.
pub(crate) fn from_ticks(ticks: &str, interval: &str) -> Option<Millis> {
    let ticks: f64 = ticks.trim().parse::<u64>().ok()? as f64;
    let (unit, approximate) = match interval.trim() {
        "YEAR" => (YEAR, true),
        "MONTH" => (MONTH, true),
        "WEEK" => (7.0 * DAY, false),
        "DAY" => (DAY, false),
        "HOUR" => (HOUR, false),
        "MIN" => (MINUTE, false),
        "SEC" => (SECOND, false),
        "MSEC" => (1.0, false),
        _ => return None,
    };
    finite_ms(ticks * unit, approximate)
}

fn finite_ms(ms: f64, approximate: bool) -> Option<Millis> {
    // Below 2^63 ms (about 292 million years) the conversion is exact enough.
    (ms.is_finite() && (0.0..9.2e18).contains(&ms)).then(|| Millis {
        ms: ms.round() as u64,
        approximate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> Option<u64> {
        parse(text).map(|m| m.ms)
    }

    #[test]
    fn durations() {
        assert_eq!(ms("PT5S"), Some(5_000));
        assert_eq!(ms("PT1.5S"), Some(1_500));
        assert_eq!(ms("PT2H30M"), Some(9_000_000));
        assert_eq!(ms("P1DT1S"), Some(86_401_000));
        assert_eq!(ms("P2W"), Some(1_209_600_000));
        assert_eq!(
            parse("P1M"),
            Some(Millis {
                ms: 2_592_000_000,
                approximate: true
            })
        );
        for bad in ["", "P", "PT", "5S", "-PT5S", "PT5", "P1.5D", "PT5X", "P1H"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ticks() {
        assert_eq!(from_ticks("3", "MIN").map(|m| m.ms), Some(180_000));
        assert!(from_ticks("1", "YEAR").is_some_and(|m| m.approximate));
        assert_eq!(from_ticks("x", "SEC"), None);
        assert_eq!(from_ticks("1", "FORTNIGHT"), None);
    }
}
