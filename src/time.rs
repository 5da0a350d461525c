//! Timestamps: RFC 3339 UTC with millisecond precision everywhere, so that stored text sorts
//! in time order and JSON output is stable.

use jiff::{SignedDuration, Timestamp, civil::Date, tz::TimeZone};

use crate::error::{Error, Result};

/// Formats a timestamp the one way lrt stores and prints them.
pub fn format(ts: Timestamp) -> String {
    format!("{ts:.3}")
}

/// Now, formatted.
pub fn now() -> String {
    format(Timestamp::now())
}

/// The calendar month (UTC) a timestamp falls in, as `YYYY-MM`: the period monthly quotas
/// are counted in.
pub fn month_of(ts: Timestamp) -> String {
    let d = ts.to_zoned_datetime(TimeZone::UTC).date();
    format!("{:04}-{:02}", d.year(), d.month())
}

/// The first instant of the calendar month (UTC) after the one `ts` falls in: when a monthly
/// quota resets.
pub fn next_month_start(ts: Timestamp) -> Timestamp {
    let d = ts.to_zoned_datetime(TimeZone::UTC).date();
    let (year, month) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    Date::new(year, month, 1)
        .and_then(|first| first.to_zoned_datetime(TimeZone::UTC))
        .map(|z| z.timestamp())
        // Only past jiff's year 9999; saturate rather than panic.
        .unwrap_or(Timestamp::MAX)
}

/// Whole seconds from `now` until `later`, rounded up and at least 1: a `Retry-After` value
/// that never invites a retry before the moment has come.
pub fn secs_until(now: Timestamp, later: Timestamp) -> u64 {
    let d = later.as_duration().saturating_sub(now.as_duration());
    let secs = d.as_secs() + i64::from(d.subsec_nanos() > 0);
    u64::try_from(secs).unwrap_or(0).max(1)
}

/// The instant `secs` seconds after `ts` (saturating at jiff's maximum).
pub fn plus_secs(ts: Timestamp, secs: u64) -> Timestamp {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    ts.checked_add(SignedDuration::from_secs(secs))
        .unwrap_or(Timestamp::MAX)
}

/// Parses `--since`: an RFC 3339 timestamp, a date (midnight UTC), or an age such as `30m`,
/// `24h`, `7d`, `2w` counted back from now.
pub fn parse_since(raw: &str) -> Result<String> {
    let s = raw.trim();
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Ok(format(ts));
    }
    if let Ok(date) = s.parse::<Date>()
        && let Ok(zoned) = date.to_zoned_datetime(TimeZone::UTC)
    {
        return Ok(format(zoned.timestamp()));
    }
    let bad = || {
        Error::Usage(format!(
            "invalid --since {raw:?}: use a timestamp (2026-11-01T09:00:00Z), a date (2026-11-01) or an age (30m, 24h, 7d, 2w)"
        ))
    };
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = s.split_at(split);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad()),
    };
    let age = SignedDuration::from_secs(n.checked_mul(seconds_per_unit).ok_or_else(bad)?);
    Timestamp::now().checked_sub(age).map(format).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_timestamps_dates_and_ages() {
        assert_eq!(parse_since("2026-11-01T09:00:00Z").unwrap(), "2026-11-01T09:00:00.000Z");
        assert_eq!(parse_since("2026-11-01").unwrap(), "2026-11-01T00:00:00.000Z");
        let day_ago = parse_since("1d").unwrap();
        assert!(day_ago < now());
        for bad in ["", "yesterday", "5y", "-3h", "h"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn months_and_their_ends() {
        let ts = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(month_of(ts("2026-11-30T23:59:59.999Z")), "2026-11");
        assert_eq!(
            format(next_month_start(ts("2026-11-30T23:59:59.999Z"))),
            "2026-12-01T00:00:00.000Z"
        );
        assert_eq!(month_of(ts("2026-12-01T00:00:00Z")), "2026-12");
        assert_eq!(
            format(next_month_start(ts("2026-12-15T08:00:00Z"))),
            "2027-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn format_has_fixed_width() {
        assert_eq!(now().len(), "2026-11-26T19:31:19.123Z".len());
    }
}
