//! US Eastern time (America/New_York) without a time-zone database: the zone the ACH operators,
//! the Fed calendar and NACHA file headers use.
//!
//! Only the daylight-saving rules in force since 2007 are applied, to every year: daylight time
//! (UTC−4) runs from the second Sunday of March at 02:00 local standard time (07:00 UTC) until
//! the first Sunday of November at 02:00 local daylight time (06:00 UTC); the rest of the year is
//! standard time (UTC−5). Instants before 2007 therefore get the modern offset, not the
//! historical one, which is fine for payments but wrong for history.
//!
//! Values outside the range `time` can represent saturate instead of panicking; see the
//! individual functions.

use std::cell::Cell;

use time::macros::{offset, time};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

use crate::model::TimestampMs;

/// Eastern Daylight Time.
pub const DAYLIGHT_OFFSET: UtcOffset = offset!(-4);
/// Eastern Standard Time.
pub const STANDARD_OFFSET: UtcOffset = offset!(-5);

/// The UTC time of day daylight time starts: 02:00 EST on the second Sunday of March.
const DAYLIGHT_STARTS_UTC: Time = time!(07:00);
/// The UTC time of day daylight time ends: 02:00 EDT on the first Sunday of November.
const DAYLIGHT_ENDS_UTC: Time = time!(06:00);

const NANOS_PER_MS: i128 = 1_000_000;

/// The `n`-th (1-based) Sunday of `month` in `year`, if that date exists.
fn nth_sunday(year: i32, month: Month, n: u8) -> Option<Date> {
    let first = Date::from_calendar_date(year, month, 1).ok()?;
    let to_sunday = 6 - first.weekday().number_days_from_monday();
    let day = 1 + to_sunday + 7 * n.checked_sub(1)?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    (date.weekday() == Weekday::Sunday).then_some(date)
}

/// The UTC instants daylight time starts and ends in a year, as UTC wall times.
type DaylightPeriod = Option<(PrimitiveDateTime, PrimitiveDateTime)>;

thread_local! {
    /// The last year [`daylight_period_utc`] was asked for on this thread, and its answer.
    /// Every capture and every ACH timer asks for the current year's switches, and working
    /// them out through `time`'s calendar was half the cost of finding the next ACH window. A
    /// memo of a pure function: the answer is the same with it or without.
    static LAST_PERIOD: Cell<Option<(i32, DaylightPeriod)>> = const { Cell::new(None) };
}

/// The UTC instants daylight time starts and ends in `year`, as UTC wall times.
fn daylight_period_utc(year: i32) -> DaylightPeriod {
    LAST_PERIOD.with(|last| match last.get() {
        Some((known, period)) if known == year => period,
        _ => {
            let period = work_out_daylight_period_utc(year);
            last.set(Some((year, period)));
            period
        }
    })
}

fn work_out_daylight_period_utc(year: i32) -> DaylightPeriod {
    let starts = nth_sunday(year, Month::March, 2)?.with_time(DAYLIGHT_STARTS_UTC);
    let ends = nth_sunday(year, Month::November, 1)?.with_time(DAYLIGHT_ENDS_UTC);
    Some((starts, ends))
}

/// The Eastern offset in force at the instant `utc` (whatever offset `utc` is expressed in):
/// UTC−4 during daylight saving time, else UTC−5. Only the 2007+ rules are applied.
///
/// An instant that cannot be expressed in UTC (the very edge of `time`'s range) gets standard
/// time.
pub fn eastern_offset(utc: OffsetDateTime) -> UtcOffset {
    let Some(utc) = utc.checked_to_offset(UtcOffset::UTC) else {
        return STANDARD_OFFSET;
    };
    let wall = PrimitiveDateTime::new(utc.date(), utc.time());
    // The switches are in March and November, so the UTC year is also the Eastern year there.
    match daylight_period_utc(utc.year()) {
        Some((starts, ends)) if starts <= wall && wall < ends => DAYLIGHT_OFFSET,
        _ => STANDARD_OFFSET,
    }
}

/// The instant `at` as an `OffsetDateTime` in UTC, or `None` outside `time`'s range.
fn utc_instant(at: TimestampMs) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * NANOS_PER_MS).ok()
}

/// The Eastern wall time at `at`, or `None` if it is outside `time`'s range.
pub fn checked_eastern_date_time(at: TimestampMs) -> Option<PrimitiveDateTime> {
    let utc = utc_instant(at)?;
    let local = utc.checked_to_offset(eastern_offset(utc))?;
    Some(PrimitiveDateTime::new(local.date(), local.time()))
}

/// The Eastern wall time (date and time of day, no offset) at the instant `at`.
///
/// Instants outside `time`'s range (beyond year ±9999) saturate to `PrimitiveDateTime::MIN`
/// or `PrimitiveDateTime::MAX`.
pub fn eastern_date_time(at: TimestampMs) -> PrimitiveDateTime {
    checked_eastern_date_time(at).unwrap_or(if at < 0 {
        PrimitiveDateTime::MIN
    } else {
        PrimitiveDateTime::MAX
    })
}

/// The Eastern calendar date at the instant `at`; saturates like [`eastern_date_time`].
pub fn eastern_date(at: TimestampMs) -> Date {
    eastern_date_time(at).date()
}

/// Epoch milliseconds of `local` read with `offset`, floored to the millisecond.
fn to_epoch_ms(local: PrimitiveDateTime, offset: UtcOffset) -> TimestampMs {
    let nanos = local.assume_offset(offset).unix_timestamp_nanos();
    let ms = nanos.div_euclid(NANOS_PER_MS);
    // `time`'s range is ±9999 years, far inside i64 milliseconds, so this never saturates.
    TimestampMs::try_from(ms).unwrap_or(if ms < 0 {
        TimestampMs::MIN
    } else {
        TimestampMs::MAX
    })
}

/// The instant (epoch ms) at which the Eastern wall clock shows `time` on `date`.
///
/// Around the switches a wall time can be missing or doubled; the answer is deterministic:
/// - a time in the skipped hour of the March switch (02:00–02:59) is read as standard time,
///   i.e. it lands one hour later on the daylight clock (02:30 becomes 03:30 EDT);
/// - a time in the repeated hour of the November switch (01:00–01:59) is the first of the two,
///   the daylight one (01:30 EDT, not 01:30 EST).
pub fn eastern_to_utc_ms(date: Date, time: Time) -> TimestampMs {
    let local = PrimitiveDateTime::new(date, time);
    let daylight = local.assume_offset(DAYLIGHT_OFFSET);
    if eastern_offset(daylight) == DAYLIGHT_OFFSET {
        return to_epoch_ms(local, DAYLIGHT_OFFSET);
    }
    to_epoch_ms(local, STANDARD_OFFSET)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn ms(at: OffsetDateTime) -> TimestampMs {
        to_epoch_ms(PrimitiveDateTime::new(at.date(), at.time()), at.offset())
    }

    /// (daylight time starts, daylight time ends) as UTC instants, 2025–2028.
    const SWITCHES: &[(OffsetDateTime, OffsetDateTime)] = &[
        (
            datetime!(2025-03-09 07:00 UTC),
            datetime!(2025-11-02 06:00 UTC),
        ),
        (
            datetime!(2026-03-08 07:00 UTC),
            datetime!(2026-11-01 06:00 UTC),
        ),
        (
            datetime!(2027-03-14 07:00 UTC),
            datetime!(2027-11-07 06:00 UTC),
        ),
        (
            datetime!(2028-03-12 07:00 UTC),
            datetime!(2028-11-05 06:00 UTC),
        ),
    ];

    #[test]
    fn switch_instants_2025_to_2028() {
        let one_ns = time::Duration::nanoseconds(1);
        for (starts, ends) in SWITCHES {
            assert_eq!(
                eastern_offset(*starts - one_ns),
                STANDARD_OFFSET,
                "{starts}"
            );
            assert_eq!(eastern_offset(*starts), DAYLIGHT_OFFSET, "{starts}");
            assert_eq!(eastern_offset(*ends - one_ns), DAYLIGHT_OFFSET, "{ends}");
            assert_eq!(eastern_offset(*ends), STANDARD_OFFSET, "{ends}");
        }
    }

    /// The remembered year answers as working it out does, whichever years came before.
    #[test]
    fn remembered_daylight_periods_are_the_worked_out_ones() {
        for year in [2026, 2026, 2027, 2026, -9999, 9999, 2007, 1900, 2026] {
            assert_eq!(
                daylight_period_utc(year),
                work_out_daylight_period_utc(year),
                "{year}"
            );
        }
    }

    #[test]
    fn offset_ignores_the_input_offset() {
        let at = datetime!(2026-03-08 03:00 -4);
        assert_eq!(at, datetime!(2026-03-08 07:00 UTC));
        assert_eq!(eastern_offset(at), DAYLIGHT_OFFSET);
        assert_eq!(
            eastern_offset(datetime!(2026-07-01 00:00 +9)),
            DAYLIGHT_OFFSET
        );
        assert_eq!(
            eastern_offset(datetime!(2026-01-01 00:00 UTC)),
            STANDARD_OFFSET
        );
    }

    #[test]
    fn summer_both_ways() {
        let at = ms(datetime!(2026-07-15 18:30 UTC));
        assert_eq!(eastern_date_time(at), datetime!(2026-07-15 14:30));
        assert_eq!(eastern_to_utc_ms(date!(2026 - 07 - 15), time!(14:30)), at);
    }

    #[test]
    fn winter_both_ways() {
        let at = ms(datetime!(2026-01-16 03:15:00.250 UTC));
        assert_eq!(eastern_date_time(at), datetime!(2026-01-15 22:15:00.250));
        assert_eq!(
            eastern_to_utc_ms(date!(2026 - 01 - 15), time!(22:15:00.250)),
            at
        );
        assert_eq!(eastern_date(at), date!(2026 - 01 - 15));
    }

    #[test]
    fn wall_clock_around_the_switches() {
        let before = ms(datetime!(2026-03-08 06:59:59.999 UTC));
        assert_eq!(
            eastern_date_time(before),
            datetime!(2026-03-08 01:59:59.999)
        );
        let after = ms(datetime!(2026-03-08 07:00 UTC));
        assert_eq!(eastern_date_time(after), datetime!(2026-03-08 03:00));
        let first_one_thirty = ms(datetime!(2026-11-01 05:30 UTC));
        let second_one_thirty = ms(datetime!(2026-11-01 06:30 UTC));
        assert_eq!(
            eastern_date_time(first_one_thirty),
            datetime!(2026-11-01 01:30)
        );
        assert_eq!(
            eastern_date_time(second_one_thirty),
            datetime!(2026-11-01 01:30)
        );
    }

    #[test]
    fn skipped_and_repeated_hours_are_deterministic() {
        let spring = date!(2026 - 03 - 08);
        assert_eq!(
            eastern_to_utc_ms(spring, time!(02:30)),
            ms(datetime!(2026-03-08 07:30 UTC))
        );
        assert_eq!(
            eastern_to_utc_ms(spring, time!(01:59)),
            ms(datetime!(2026-03-08 06:59 UTC))
        );
        assert_eq!(
            eastern_to_utc_ms(spring, time!(03:00)),
            ms(datetime!(2026-03-08 07:00 UTC))
        );
        let fall = date!(2026 - 11 - 01);
        assert_eq!(
            eastern_to_utc_ms(fall, time!(01:30)),
            ms(datetime!(2026-11-01 05:30 UTC))
        );
        assert_eq!(
            eastern_to_utc_ms(fall, time!(02:00)),
            ms(datetime!(2026-11-01 07:00 UTC))
        );
        assert_eq!(
            eastern_to_utc_ms(fall, time!(00:59)),
            ms(datetime!(2026-11-01 04:59 UTC))
        );
    }

    #[test]
    fn pre_2007_years_use_the_modern_rules() {
        // Under the old rules 2006-10-30 was already standard time; the modern rules say daylight.
        assert_eq!(
            eastern_offset(datetime!(2006-10-30 12:00 UTC)),
            DAYLIGHT_OFFSET
        );
    }

    #[test]
    fn out_of_range_saturates() {
        assert_eq!(eastern_date_time(TimestampMs::MAX), PrimitiveDateTime::MAX);
        assert_eq!(eastern_date_time(TimestampMs::MIN), PrimitiveDateTime::MIN);
        assert_eq!(checked_eastern_date_time(TimestampMs::MAX), None);
        assert_eq!(
            eastern_offset(OffsetDateTime::new_utc(Date::MAX, Time::MIDNIGHT)),
            STANDARD_OFFSET
        );
        // Must not panic at the edges of the representable range.
        eastern_to_utc_ms(Date::MAX, time!(23:59));
        eastern_to_utc_ms(Date::MIN, Time::MIDNIGHT);
    }
}
