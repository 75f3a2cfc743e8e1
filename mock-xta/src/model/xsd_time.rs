//! `xs:dateTime` and `xs:date` as the XTA schemas use them. A value without a time zone is read as UTC
//! (XML Schema leaves such values "local"; the server has to pick one — see docs/xta.md).

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

fn num(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn split_zone(s: &str) -> Option<(&str, UtcOffset)> {
    if let Some(r) = s.strip_suffix('Z') {
        return Some((r, UtcOffset::UTC));
    }
    if s.len() > 6 {
        let (head, tz) = s.split_at(s.len() - 6);
        let b = tz.as_bytes();
        if (b[0] == b'+' || b[0] == b'-') && b[3] == b':' {
            let h = num(&tz[1..3])? as i8;
            let m = num(&tz[4..6])? as i8;
            let sign = if b[0] == b'-' { -1 } else { 1 };
            let off = UtcOffset::from_hms(sign * h, sign * m, 0).ok()?;
            return Some((head, off));
        }
    }
    Some((s, UtcOffset::UTC))
}

fn date_part(s: &str) -> Option<Date> {
    let mut it = s.splitn(3, '-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = Month::try_from(num(m)? as u8).ok()?;
    Date::from_calendar_date(num(y)? as i32, month, num(d)? as u8).ok()
}

/// Parse `YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]`.
pub fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    let (rest, off) = split_zone(s)?;
    let (d, t) = rest.split_once('T')?;
    let date = date_part(d)?;
    let (hms, frac) = match t.split_once('.') {
        Some((a, f)) => (a, Some(f)),
        None => (t, None),
    };
    let mut it = hms.splitn(3, ':');
    let (h, mi, se) = (it.next()?, it.next()?, it.next()?);
    if h.len() != 2 || mi.len() != 2 || se.len() != 2 {
        return None;
    }
    let nanos = match frac {
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            let digits: String = f.chars().take(9).collect();
            let n: u32 = digits.parse().ok()?;
            n * 10u32.pow(9 - digits.len() as u32)
        }
        Some(_) => return None,
        None => 0,
    };
    let time = Time::from_hms_nano(num(h)? as u8, num(mi)? as u8, num(se)? as u8, nanos).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(off))
}

/// Parse `YYYY-MM-DD[Z|±hh:mm]` (the zone is ignored for a date).
pub fn parse_date(s: &str) -> Option<Date> {
    let s = s.trim();
    let (rest, _) = split_zone(s)?;
    date_part(rest)
}

/// `2026-01-31T12:00:00.000Z`
pub fn format_datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xsd_times() {
        let t = parse_datetime("2022-08-15T09:30:47").unwrap();
        assert_eq!(format_datetime(t), "2022-08-15T09:30:47.000Z");
        let t = parse_datetime("2022-08-15T09:30:47.5+02:00").unwrap();
        assert_eq!(format_datetime(t), "2022-08-15T07:30:47.500Z");
        for bad in [
            "2022-8-15T09:30:47",
            "2022-08-15 09:30:47",
            "x",
            "2022-02-30T00:00:00",
            "2022-08-15T09:30:47.",
        ] {
            assert!(parse_datetime(bad).is_none(), "{bad}");
        }
        assert_eq!(
            format_date(parse_date("2024-02-29Z").unwrap()),
            "2024-02-29"
        );
        assert!(parse_date("2023-02-29").is_none());
    }
}
