//! Federal Reserve banking days: the Fed holiday calendar that ACH settlement dates, effective entry dates and return deadlines run on.
//!
//! The rules come from `rails.md` §6. A fixed-date holiday that falls on a Sunday closes the Fed
//! on the following Monday. One that falls on a Saturday is not moved: the Reserve Banks stay open
//! on the preceding Friday, so that Friday remains a banking day (this is where the Fed calendar
//! differs from the OPM calendar). In particular, a Saturday New Year's Day never closes the
//! previous 31 December. The current holiday rules are applied to every year, except that
//! Juneteenth only counts from 2021, the year it became a federal holiday.
//!
//! Dates near the end of the range `time::Date` can represent saturate there instead of
//! panicking; see the individual functions.

use std::borrow::Cow;
use std::sync::LazyLock;

use time::{Date, Month, Weekday};

/// The first year Juneteenth was a federal holiday (it fell on a Saturday that year, so the Fed
/// first closed for it in 2022).
const JUNETEENTH_FIRST_YEAR: i32 = 2021;

/// Returns the `n`-th (1-based) `weekday` of `month` in `year`, if that date exists.
fn nth_weekday(year: i32, month: Month, weekday: Weekday, n: u8) -> Option<Date> {
    let first = Date::from_calendar_date(year, month, 1).ok()?;
    let offset =
        (7 + weekday.number_days_from_monday() - first.weekday().number_days_from_monday()) % 7;
    let day = 1 + offset + 7 * n.checked_sub(1)?;
    Date::from_calendar_date(year, month, day).ok()
}

/// Returns the last `weekday` of `month` in `year`, if that date exists.
fn last_weekday(year: i32, month: Month, weekday: Weekday) -> Option<Date> {
    let last_day = month.length(year);
    let last = Date::from_calendar_date(year, month, last_day).ok()?;
    let back =
        (7 + last.weekday().number_days_from_monday() - weekday.number_days_from_monday()) % 7;
    Date::from_calendar_date(year, month, last_day - back).ok()
}

/// Returns the date the Fed closes for a fixed-date holiday, or `None` if it does not close.
///
/// Sunday holidays move to Monday; Saturday holidays are not observed by the Reserve Banks.
fn observed_fixed(year: i32, month: Month, day: u8) -> Option<Date> {
    let date = Date::from_calendar_date(year, month, day).ok()?;
    match date.weekday() {
        Weekday::Saturday => None,
        Weekday::Sunday => date.next_day(),
        _ => Some(date),
    }
}

/// Returns the observed dates the Federal Reserve is closed in `year`, in date order, each with
/// the holiday's name.
///
/// Saturday holidays are absent because the Fed does not close for them. Years outside the range
/// `time::Date` supports give an empty list.
pub fn fed_holidays(year: i32) -> Vec<(Date, &'static str)> {
    let mut fixed = vec![
        (Month::January, 1, "New Year's Day"),
        (Month::July, 4, "Independence Day"),
        (Month::November, 11, "Veterans Day"),
        (Month::December, 25, "Christmas Day"),
    ];
    if year >= JUNETEENTH_FIRST_YEAR {
        fixed.push((Month::June, 19, "Juneteenth National Independence Day"));
    }
    let floating = [
        (
            nth_weekday(year, Month::January, Weekday::Monday, 3),
            "Birthday of Martin Luther King, Jr.",
        ),
        (
            nth_weekday(year, Month::February, Weekday::Monday, 3),
            "Washington's Birthday",
        ),
        (
            last_weekday(year, Month::May, Weekday::Monday),
            "Memorial Day",
        ),
        (
            nth_weekday(year, Month::September, Weekday::Monday, 1),
            "Labor Day",
        ),
        (
            nth_weekday(year, Month::October, Weekday::Monday, 2),
            "Columbus Day",
        ),
        (
            nth_weekday(year, Month::November, Weekday::Thursday, 4),
            "Thanksgiving Day",
        ),
    ];
    let mut holidays: Vec<(Date, &'static str)> = fixed
        .into_iter()
        .filter_map(|(month, day, name)| observed_fixed(year, month, day).map(|d| (d, name)))
        .chain(
            floating
                .into_iter()
                .filter_map(|(date, name)| date.map(|d| (d, name))),
        )
        .collect();
    holidays.sort_by_key(|(date, _)| *date);
    holidays
}

/// The years whose closing dates are worked out once and kept: every date the service meets in
/// practice. Years outside it are worked out on each use.
const KEPT_YEARS: std::ops::Range<i32> = 1950..2200;

/// The observed closing dates of each of [`KEPT_YEARS`], in order. Captures and settlement ask
/// for the banking day several times per request, and working a year's holidays out again each
/// time was a per cent of a capture's CPU.
static KEPT: LazyLock<Vec<Vec<Date>>> = LazyLock::new(|| KEPT_YEARS.map(closing_dates).collect());

/// The observed closing dates of `year`, without their names.
fn closing_dates(year: i32) -> Vec<Date> {
    fed_holidays(year).into_iter().map(|(d, _)| d).collect()
}

/// Remembers one year's holidays so that walking many days does not recompute them each step.
struct HolidayCache {
    /// The year `dates` belongs to.
    year: i32,
    /// The observed closing dates of `year`.
    dates: Cow<'static, [Date]>,
}

impl HolidayCache {
    /// Creates a cache primed with the holidays of `year`.
    fn new(year: i32) -> Self {
        let dates = match usize::try_from(year - KEPT_YEARS.start) {
            Ok(index) if KEPT_YEARS.contains(&year) => Cow::Borrowed(KEPT[index].as_slice()),
            _ => Cow::Owned(closing_dates(year)),
        };
        Self { year, dates }
    }

    /// Same answer as [`is_banking_day`], reusing the cached year when possible.
    fn is_banking_day(&mut self, date: Date) -> bool {
        if matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) {
            return false;
        }
        if date.year() != self.year {
            *self = Self::new(date.year());
        }
        !self.dates.contains(&date)
    }

    /// The first banking day strictly after `date`, saturating at the last representable date.
    fn next_banking_day(&mut self, date: Date) -> Date {
        let mut candidate = date;
        while let Some(next) = candidate.next_day() {
            candidate = next;
            if self.is_banking_day(candidate) {
                return candidate;
            }
        }
        candidate
    }
}

/// Returns whether `date` is a banking day: Monday to Friday and not a Fed holiday.
pub fn is_banking_day(date: Date) -> bool {
    HolidayCache::new(date.year()).is_banking_day(date)
}

/// Returns the first banking day strictly after `date`.
///
/// If no later banking day is representable, the last representable date (`Date::MAX`) is
/// returned instead of panicking.
pub fn next_banking_day(date: Date) -> Date {
    HolidayCache::new(date.year()).next_banking_day(date)
}

/// Returns `date` itself if it is a banking day, otherwise the next banking day after it.
pub fn banking_day_on_or_after(date: Date) -> Date {
    let mut cache = HolidayCache::new(date.year());
    if cache.is_banking_day(date) {
        date
    } else {
        cache.next_banking_day(date)
    }
}

/// Returns the banking day `days` banking days after `date`.
///
/// A `date` that is not a banking day first rolls forward to the next banking day, which counts
/// as day 0; so `add_banking_days(d, 0)` is [`banking_day_on_or_after`] and a Saturday plus one
/// banking day is the Tuesday. This keeps the result strictly increasing in `days`. Results beyond
/// the representable range saturate at `Date::MAX`.
pub fn add_banking_days(date: Date, days: u32) -> Date {
    let mut cache = HolidayCache::new(date.year());
    let mut current = if cache.is_banking_day(date) {
        date
    } else {
        cache.next_banking_day(date)
    };
    for _ in 0..days {
        let next = cache.next_banking_day(current);
        if next == current {
            // The end of the representable range was reached; further steps cannot move.
            break;
        }
        current = next;
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    /// The Fed closing dates of 2025–2028, exactly as listed in rails.md §6.
    const TABLE: &[(i32, &[Date])] = &[
        (
            2025,
            &[
                date!(2025 - 01 - 01),
                date!(2025 - 01 - 20),
                date!(2025 - 02 - 17),
                date!(2025 - 05 - 26),
                date!(2025 - 06 - 19),
                date!(2025 - 07 - 04),
                date!(2025 - 09 - 01),
                date!(2025 - 10 - 13),
                date!(2025 - 11 - 11),
                date!(2025 - 11 - 27),
                date!(2025 - 12 - 25),
            ],
        ),
        (
            2026,
            &[
                date!(2026 - 01 - 01),
                date!(2026 - 01 - 19),
                date!(2026 - 02 - 16),
                date!(2026 - 05 - 25),
                date!(2026 - 06 - 19),
                date!(2026 - 09 - 07),
                date!(2026 - 10 - 12),
                date!(2026 - 11 - 11),
                date!(2026 - 11 - 26),
                date!(2026 - 12 - 25),
            ],
        ),
        (
            2027,
            &[
                date!(2027 - 01 - 01),
                date!(2027 - 01 - 18),
                date!(2027 - 02 - 15),
                date!(2027 - 05 - 31),
                date!(2027 - 07 - 05),
                date!(2027 - 09 - 06),
                date!(2027 - 10 - 11),
                date!(2027 - 11 - 11),
                date!(2027 - 11 - 25),
            ],
        ),
        (
            2028,
            &[
                date!(2028 - 01 - 17),
                date!(2028 - 02 - 21),
                date!(2028 - 05 - 29),
                date!(2028 - 06 - 19),
                date!(2028 - 07 - 04),
                date!(2028 - 09 - 04),
                date!(2028 - 10 - 09),
                date!(2028 - 11 - 23),
                date!(2028 - 12 - 25),
            ],
        ),
    ];

    #[test]
    fn kept_years_match_the_rules_and_the_others_still_work() {
        for year in [1949, 1950, 2026, 2199, 2200] {
            let cache = HolidayCache::new(year);
            assert_eq!(&*cache.dates, closing_dates(year).as_slice(), "{year}");
        }
        assert!(!is_banking_day(date!(1949 - 12 - 26)));
        assert!(!is_banking_day(date!(2200 - 12 - 25)));
    }

    #[test]
    fn holiday_table_2025_to_2028() {
        for (year, expected) in TABLE {
            let actual: Vec<Date> = fed_holidays(*year).into_iter().map(|(d, _)| d).collect();
            assert_eq!(&actual, expected, "year {year}");
            for day in *expected {
                assert!(!is_banking_day(*day), "{day} should be closed");
            }
        }
    }

    #[test]
    fn holiday_names() {
        let holidays = fed_holidays(2027);
        assert!(holidays.contains(&(date!(2027 - 07 - 05), "Independence Day")));
        assert!(holidays.contains(&(date!(2027 - 05 - 31), "Memorial Day")));
        assert!(fed_holidays(2020)
            .iter()
            .all(|(_, name)| !name.starts_with("Juneteenth")));
        assert!(fed_holidays(100_000).is_empty());
    }

    #[test]
    fn weekends_are_not_banking_days() {
        assert!(!is_banking_day(date!(2025 - 06 - 07)));
        assert!(!is_banking_day(date!(2025 - 06 - 08)));
        assert!(is_banking_day(date!(2025 - 06 - 09)));
        assert!(is_banking_day(date!(2025 - 06 - 06)));
    }

    #[test]
    fn saturday_holiday_keeps_friday_open() {
        for friday in [
            date!(2021 - 12 - 31),
            date!(2026 - 07 - 03),
            date!(2027 - 06 - 18),
            date!(2027 - 12 - 24),
            date!(2028 - 11 - 10),
        ] {
            assert_eq!(friday.weekday(), Weekday::Friday);
            assert!(is_banking_day(friday), "{friday} should be open");
        }
        // New Year's Day 2028 is a Saturday: neither 2027-12-31 nor 2028-01-03 closes.
        assert!(is_banking_day(date!(2027 - 12 - 31)));
        assert!(is_banking_day(date!(2028 - 01 - 03)));
    }

    #[test]
    fn sunday_holiday_closes_monday() {
        assert!(!is_banking_day(date!(2027 - 07 - 05)));
        assert!(!is_banking_day(date!(2022 - 12 - 26)));
        assert!(!is_banking_day(date!(2023 - 01 - 02)));
        assert!(!is_banking_day(date!(2022 - 06 - 20)));
    }

    #[test]
    fn next_and_on_or_after() {
        assert_eq!(
            next_banking_day(date!(2025 - 05 - 23)),
            date!(2025 - 05 - 27)
        );
        assert_eq!(
            next_banking_day(date!(2025 - 05 - 27)),
            date!(2025 - 05 - 28)
        );
        assert_eq!(
            banking_day_on_or_after(date!(2025 - 05 - 24)),
            date!(2025 - 05 - 27)
        );
        assert_eq!(
            banking_day_on_or_after(date!(2025 - 05 - 28)),
            date!(2025 - 05 - 28)
        );
        assert_eq!(
            next_banking_day(date!(2026 - 12 - 31)),
            date!(2027 - 01 - 04)
        );
        assert_eq!(next_banking_day(Date::MAX), Date::MAX);
    }

    #[test]
    fn add_banking_days_across_holiday_weekend() {
        let friday = date!(2025 - 05 - 23);
        assert_eq!(add_banking_days(friday, 0), friday);
        assert_eq!(add_banking_days(friday, 1), date!(2025 - 05 - 27));
        assert_eq!(add_banking_days(friday, 2), date!(2025 - 05 - 28));
        assert_eq!(
            add_banking_days(date!(2025 - 05 - 24), 0),
            date!(2025 - 05 - 27)
        );
        assert_eq!(
            add_banking_days(date!(2025 - 05 - 24), 1),
            date!(2025 - 05 - 28)
        );
        assert_eq!(
            add_banking_days(date!(2025 - 12 - 24), 2),
            date!(2025 - 12 - 29)
        );
    }

    proptest! {
        #[test]
        fn add_banking_days_is_banking_and_increasing(
            // Julian days 2_415_021..2_524_594 cover 1900-01-01 to 2199-12-31.
            julian in 2_415_021i32..2_524_594,
            n in 0u32..400,
        ) {
            let start = Date::from_julian_day(julian).unwrap();
            let here = add_banking_days(start, n);
            let later = add_banking_days(start, n + 1);
            prop_assert!(is_banking_day(here));
            prop_assert!(here >= start);
            prop_assert!(later > here);
            prop_assert_eq!(later, next_banking_day(here));
        }
    }
}
