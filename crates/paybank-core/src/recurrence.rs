//! Recurring-payment schedules (the `recurrence` object of `/establish`, client-flows.md §2):
//! validation and the capture time of each occurrence.
//!
//! "2 payments every 3 months" is `frequency = 2`, `frequency_unit = 3`, `unit = Month`. The
//! schedule is cut into periods of `frequency_unit` units, the first starting at `start_ms`, and
//! each period holds `frequency` evenly spaced occurrences, the first at the period's start.
//!
//! Period boundaries are calendar steps on the US Eastern wall clock (see [`crate::eastern`]),
//! always counted from the start rather than from the previous period: a payment started at
//! 09:00 ET stays at 09:00 ET across daylight-saving switches (so a "day" is 23, 24 or 25 hours),
//! and a month or year step keeps the start's day of month, clamped to the length of the target
//! month (31 January + 1 month = 28 or 29 February, + 2 months = 31 March).

use time::{Date, Month};

use crate::eastern::{checked_eastern_date_time, eastern_to_utc_ms};
use crate::model::TimestampMs;

/// `frequency` when the merchant leaves it out.
pub const DEFAULT_FREQUENCY: u32 = 1;
/// The most payments per period.
pub const FREQUENCY_MAX: u32 = 31;
/// The most units per period (a year of days).
pub const FREQUENCY_UNIT_MAX: u32 = 366;
/// The smallest recurring amount, in cents.
pub const RECURRING_AMOUNT_MIN_CENTS: i64 = 99;
/// The most occurrences a schedule may have; open-ended schedules stop after this many.
pub const MAX_OCCURRENCES: u32 = 10_000;

/// The unit of a recurrence period. The discriminants are the numeric wire codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrequencyUnitType {
    Day = 1,
    Week = 2,
    Month = 3,
    Year = 4,
}

impl FrequencyUnitType {
    /// The numeric wire code (1 Day, 2 Week, 3 Month, 4 Year).
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The name the OAS uses.
    pub fn name(self) -> &'static str {
        match self {
            FrequencyUnitType::Day => "Day",
            FrequencyUnitType::Week => "Week",
            FrequencyUnitType::Month => "Month",
            FrequencyUnitType::Year => "Year",
        }
    }
}

/// Parses `frequencyUnitType`: the code `1`..`4` (SDK examples) or the name `Day`, `Week`,
/// `Month`, `Year` in any case (the OAS). Surrounding whitespace is ignored.
pub fn parse_unit_type(text: &str) -> Option<FrequencyUnitType> {
    match text.trim() {
        "1" => Some(FrequencyUnitType::Day),
        "2" => Some(FrequencyUnitType::Week),
        "3" => Some(FrequencyUnitType::Month),
        "4" => Some(FrequencyUnitType::Year),
        name => [
            FrequencyUnitType::Day,
            FrequencyUnitType::Week,
            FrequencyUnitType::Month,
            FrequencyUnitType::Year,
        ]
        .into_iter()
        .find(|unit| name.eq_ignore_ascii_case(unit.name())),
    }
}

/// A recurring payment's schedule and amount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recurrence {
    /// The first capture time.
    pub start_ms: TimestampMs,
    /// No capture is scheduled after this instant (inclusive); `None` runs until
    /// [`MAX_OCCURRENCES`].
    pub end_ms: Option<TimestampMs>,
    /// Payments per period ([`DEFAULT_FREQUENCY`] when not given).
    pub frequency: u32,
    /// Units per period.
    pub frequency_unit: u32,
    pub unit: FrequencyUnitType,
    pub amount_cents: i64,
    /// Whether paybank captures each occurrence by itself, or the merchant does.
    pub automatic_capture: bool,
}

/// Why a recurrence was refused; the message starts with the wire field at fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecurrenceError {
    #[error("recurrence.frequency must be between 1 and {FREQUENCY_MAX}")]
    Frequency,
    #[error("recurrence.frequencyUnit must be between 1 and {FREQUENCY_UNIT_MAX}")]
    FrequencyUnit,
    #[error("recurrence.recurringAmount must be at least 0.99")]
    RecurringAmount,
    #[error("recurrence.startDate is out of range")]
    StartDate,
    #[error("recurrence.endDate must be after recurrence.startDate")]
    EndBeforeStart,
    #[error("recurrence.endDate allows more than {MAX_OCCURRENCES} payments")]
    TooManyOccurrences,
}

impl RecurrenceError {
    /// The wire name of the field at fault, for API error details.
    pub fn field(self) -> &'static str {
        match self {
            RecurrenceError::Frequency => "recurrence.frequency",
            RecurrenceError::FrequencyUnit => "recurrence.frequencyUnit",
            RecurrenceError::RecurringAmount => "recurrence.recurringAmount",
            RecurrenceError::StartDate => "recurrence.startDate",
            RecurrenceError::EndBeforeStart | RecurrenceError::TooManyOccurrences => {
                "recurrence.endDate"
            }
        }
    }
}

/// Checks the limits: frequency 1..=31, frequency unit 1..=366, amount at least $0.99, a start
/// that is a representable date, an end after the start, and at most [`MAX_OCCURRENCES`]
/// occurrences up to the end. Fields are checked in that order and the first failure returned.
/// A schedule without an end is accepted; [`occurrence`] stops it after [`MAX_OCCURRENCES`].
pub fn validate(recurrence: &Recurrence) -> Result<(), RecurrenceError> {
    if !(1..=FREQUENCY_MAX).contains(&recurrence.frequency) {
        return Err(RecurrenceError::Frequency);
    }
    if !(1..=FREQUENCY_UNIT_MAX).contains(&recurrence.frequency_unit) {
        return Err(RecurrenceError::FrequencyUnit);
    }
    if recurrence.amount_cents < RECURRING_AMOUNT_MIN_CENTS {
        return Err(RecurrenceError::RecurringAmount);
    }
    if checked_eastern_date_time(recurrence.start_ms).is_none() {
        return Err(RecurrenceError::StartDate);
    }
    if let Some(end) = recurrence.end_ms {
        if end <= recurrence.start_ms {
            return Err(RecurrenceError::EndBeforeStart);
        }
        // The occurrence after the last allowed one must fall after the end.
        if scheduled_at(recurrence, MAX_OCCURRENCES).is_some_and(|at| at <= end) {
            return Err(RecurrenceError::TooManyOccurrences);
        }
    }
    Ok(())
}

/// `date` moved by `days` calendar days, or `None` outside the representable range.
fn add_days(date: Date, days: i64) -> Option<Date> {
    let julian = i64::from(date.to_julian_day()).checked_add(days)?;
    Date::from_julian_day(i32::try_from(julian).ok()?).ok()
}

/// `date` moved by `months` calendar months, its day clamped to the target month's length.
fn add_months(date: Date, months: i64) -> Option<Date> {
    let index = i64::from(date.year())
        .checked_mul(12)?
        .checked_add(i64::from(u8::from(date.month())) - 1)?
        .checked_add(months)?;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).ok()
}

/// The start of period `period` (0-based): `period * frequency_unit` units after the start on
/// the Eastern wall clock. `None` if out of range.
fn period_start(recurrence: &Recurrence, period: u32) -> Option<TimestampMs> {
    if period == 0 {
        // Not round-tripped through the wall clock: in the repeated November hour that would
        // move the start to the first 01:xx.
        return Some(recurrence.start_ms);
    }
    let start = checked_eastern_date_time(recurrence.start_ms)?;
    let units = i64::from(period).checked_mul(i64::from(recurrence.frequency_unit))?;
    let date = match recurrence.unit {
        FrequencyUnitType::Day => add_days(start.date(), units)?,
        FrequencyUnitType::Week => add_days(start.date(), units.checked_mul(7)?)?,
        FrequencyUnitType::Month => add_months(start.date(), units)?,
        FrequencyUnitType::Year => add_months(start.date(), units.checked_mul(12)?)?,
    };
    Some(eastern_to_utc_ms(date, start.time()))
}

/// The `n`-th occurrence ignoring the end and the cap.
fn scheduled_at(recurrence: &Recurrence, n: u32) -> Option<TimestampMs> {
    if recurrence.frequency == 0 || recurrence.frequency_unit == 0 {
        return None;
    }
    let period = n / recurrence.frequency;
    let slot = n % recurrence.frequency;
    let from = period_start(recurrence, period)?;
    if slot == 0 {
        return Some(from);
    }
    let to = period_start(recurrence, period.checked_add(1)?)?;
    let length = i128::from(to) - i128::from(from);
    // Multiplying before dividing keeps the spacing exact to the millisecond (floored).
    let offset = length * i128::from(slot) / i128::from(recurrence.frequency);
    TimestampMs::try_from(i128::from(from) + offset).ok()
}

/// The scheduled capture time of the `n`-th (0-based) occurrence.
///
/// Period `p` runs from `p * frequency_unit` units after the start to `(p + 1) *
/// frequency_unit` units after it; occurrence `n` is slot `k = n % frequency` of period
/// `p = n / frequency`, at `period start + floor(k * period length / frequency)` ms.
///
/// `None` after `end_ms` (an occurrence exactly at the end is kept), from
/// [`MAX_OCCURRENCES`] on, beyond the representable dates, or when `frequency` or
/// `frequency_unit` is 0. Other limits are [`validate`]'s job.
pub fn occurrence(recurrence: &Recurrence, n: u32) -> Option<TimestampMs> {
    if n >= MAX_OCCURRENCES {
        return None;
    }
    let at = scheduled_at(recurrence, n)?;
    match recurrence.end_ms {
        Some(end) if at > end => None,
        _ => Some(at),
    }
}

/// The first occurrence strictly after `after`, with its index; `None` if the schedule has
/// ended by then.
pub fn next_occurrence_after(
    recurrence: &Recurrence,
    after: TimestampMs,
) -> Option<(u32, TimestampMs)> {
    // Occurrences increase with `n` and, once absent, stay absent, so "absent or after `after`"
    // is false up to some index and true from there: binary search for that index.
    let is_past = |n| occurrence(recurrence, n).is_some_and(|at| at <= after);
    let (mut low, mut high) = (0, MAX_OCCURRENCES);
    while low < high {
        let mid = low + (high - low) / 2;
        if is_past(mid) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    occurrence(recurrence, low).map(|at| (low, at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;
    use time::OffsetDateTime;

    fn ms(at: OffsetDateTime) -> TimestampMs {
        TimestampMs::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap()
    }

    const DAY_MS: i64 = 86_400_000;

    fn every(frequency_unit: u32, unit: FrequencyUnitType, start: OffsetDateTime) -> Recurrence {
        Recurrence {
            start_ms: ms(start),
            end_ms: None,
            frequency: DEFAULT_FREQUENCY,
            frequency_unit,
            unit,
            amount_cents: 1_000,
            automatic_capture: true,
        }
    }

    fn first(recurrence: &Recurrence, count: u32) -> Vec<Option<TimestampMs>> {
        (0..count).map(|n| occurrence(recurrence, n)).collect()
    }

    #[test]
    fn parses_unit_types() {
        assert_eq!(parse_unit_type("1"), Some(FrequencyUnitType::Day));
        assert_eq!(parse_unit_type("2"), Some(FrequencyUnitType::Week));
        assert_eq!(parse_unit_type("3"), Some(FrequencyUnitType::Month));
        assert_eq!(parse_unit_type("4"), Some(FrequencyUnitType::Year));
        assert_eq!(parse_unit_type("day"), Some(FrequencyUnitType::Day));
        assert_eq!(parse_unit_type("WEEK"), Some(FrequencyUnitType::Week));
        assert_eq!(parse_unit_type(" Month "), Some(FrequencyUnitType::Month));
        assert_eq!(parse_unit_type("Year"), Some(FrequencyUnitType::Year));
        for bad in ["0", "5", "03", "", "Days", "Monthly", "+1"] {
            assert_eq!(parse_unit_type(bad), None, "{bad}");
        }
        assert_eq!(FrequencyUnitType::Month.code(), 3);
    }

    #[test]
    fn daily_keeps_the_eastern_wall_time_across_dst() {
        // 09:00 EST on Friday 2026-03-06; daylight time starts on Sunday the 8th.
        let daily = every(1, FrequencyUnitType::Day, datetime!(2026-03-06 14:00 UTC));
        assert_eq!(
            first(&daily, 4),
            vec![
                Some(ms(datetime!(2026-03-06 14:00 UTC))),
                Some(ms(datetime!(2026-03-07 14:00 UTC))),
                Some(ms(datetime!(2026-03-08 13:00 UTC))),
                Some(ms(datetime!(2026-03-09 13:00 UTC))),
            ]
        );
        let every_ten_days = every(10, FrequencyUnitType::Day, datetime!(2026-06-01 12:00 UTC));
        assert_eq!(
            occurrence(&every_ten_days, 3),
            Some(ms(datetime!(2026-07-01 12:00 UTC)))
        );
    }

    #[test]
    fn weekly() {
        let fortnightly = every(2, FrequencyUnitType::Week, datetime!(2026-01-05 15:00 UTC));
        assert_eq!(
            first(&fortnightly, 3),
            vec![
                Some(ms(datetime!(2026-01-05 15:00 UTC))),
                Some(ms(datetime!(2026-01-19 15:00 UTC))),
                Some(ms(datetime!(2026-02-02 15:00 UTC))),
            ]
        );
        // Three a week: every 56 hours.
        let thrice = Recurrence {
            frequency: 3,
            ..every(1, FrequencyUnitType::Week, datetime!(2026-01-05 15:00 UTC))
        };
        assert_eq!(
            occurrence(&thrice, 1),
            Some(ms(datetime!(2026-01-07 23:00 UTC)))
        );
        assert_eq!(
            occurrence(&thrice, 3),
            Some(ms(datetime!(2026-01-12 15:00 UTC)))
        );
    }

    #[test]
    fn monthly_clamps_the_day_from_the_start() {
        // 12:00 EST on 2026-01-31.
        let monthly = every(1, FrequencyUnitType::Month, datetime!(2026-01-31 17:00 UTC));
        assert_eq!(
            first(&monthly, 4),
            vec![
                Some(ms(datetime!(2026-01-31 17:00 UTC))),
                Some(ms(datetime!(2026-02-28 17:00 UTC))),
                // 12:00 EDT.
                Some(ms(datetime!(2026-03-31 16:00 UTC))),
                Some(ms(datetime!(2026-04-30 16:00 UTC))),
            ]
        );
        let leap = every(1, FrequencyUnitType::Month, datetime!(2028-01-31 17:00 UTC));
        assert_eq!(
            occurrence(&leap, 1),
            Some(ms(datetime!(2028-02-29 17:00 UTC)))
        );
        let quarterly = every(3, FrequencyUnitType::Month, datetime!(2026-11-30 17:00 UTC));
        assert_eq!(
            occurrence(&quarterly, 1),
            Some(ms(datetime!(2027-02-28 17:00 UTC)))
        );
    }

    #[test]
    fn yearly_from_february_29() {
        let yearly = every(1, FrequencyUnitType::Year, datetime!(2028-02-29 17:00 UTC));
        assert_eq!(
            occurrence(&yearly, 1),
            Some(ms(datetime!(2029-02-28 17:00 UTC)))
        );
        assert_eq!(
            occurrence(&yearly, 4),
            Some(ms(datetime!(2032-02-29 17:00 UTC)))
        );
    }

    #[test]
    fn two_payments_every_three_months() {
        // Midnight EST on 2026-01-01; the next period starts at midnight EDT on 2026-04-01.
        let start = ms(datetime!(2026-01-01 05:00 UTC));
        let april = ms(datetime!(2026-04-01 04:00 UTC));
        let july = ms(datetime!(2026-07-01 04:00 UTC));
        let recurrence = Recurrence {
            frequency: 2,
            ..every(3, FrequencyUnitType::Month, datetime!(2026-01-01 05:00 UTC))
        };
        assert_eq!(validate(&recurrence), Ok(()));
        assert_eq!(
            first(&recurrence, 4),
            vec![
                Some(start),
                Some(start + (april - start) / 2),
                Some(april),
                Some(april + (july - april) / 2),
            ]
        );
        // Half of 90 days less an hour.
        assert_eq!(
            occurrence(&recurrence, 1),
            Some(ms(datetime!(2026-02-15 04:30 UTC)))
        );
    }

    #[test]
    fn end_date_is_inclusive() {
        let start = datetime!(2026-06-01 12:00 UTC);
        let recurrence = Recurrence {
            end_ms: Some(ms(start) + 2 * DAY_MS),
            ..every(1, FrequencyUnitType::Day, start)
        };
        assert_eq!(occurrence(&recurrence, 2), Some(ms(start) + 2 * DAY_MS));
        assert_eq!(occurrence(&recurrence, 3), None);
        assert_eq!(
            next_occurrence_after(&recurrence, ms(start) + DAY_MS),
            Some((2, ms(start) + 2 * DAY_MS))
        );
        assert_eq!(
            next_occurrence_after(&recurrence, ms(start) + 2 * DAY_MS),
            None
        );
    }

    #[test]
    fn open_ended_schedules_stop_at_the_cap() {
        let daily = every(1, FrequencyUnitType::Day, datetime!(2026-06-01 12:00 UTC));
        assert!(occurrence(&daily, MAX_OCCURRENCES - 1).is_some());
        assert_eq!(occurrence(&daily, MAX_OCCURRENCES), None);
        assert_eq!(next_occurrence_after(&daily, TimestampMs::MAX), None);
    }

    #[test]
    fn next_occurrence_after_finds_the_first_later_one() {
        let start = datetime!(2026-01-31 17:00 UTC);
        let monthly = every(1, FrequencyUnitType::Month, start);
        assert_eq!(next_occurrence_after(&monthly, 0), Some((0, ms(start))));
        assert_eq!(
            next_occurrence_after(&monthly, ms(start)),
            Some((1, ms(datetime!(2026-02-28 17:00 UTC))))
        );
        assert_eq!(
            next_occurrence_after(&monthly, ms(datetime!(2026-03-31 15:59 UTC))),
            Some((2, ms(datetime!(2026-03-31 16:00 UTC))))
        );
    }

    fn valid() -> Recurrence {
        every(1, FrequencyUnitType::Month, datetime!(2026-01-31 17:00 UTC))
    }

    #[test]
    fn validation_errors_name_the_field() {
        let cases = [
            (
                Recurrence {
                    frequency: 0,
                    ..valid()
                },
                RecurrenceError::Frequency,
            ),
            (
                Recurrence {
                    frequency: 32,
                    ..valid()
                },
                RecurrenceError::Frequency,
            ),
            (
                Recurrence {
                    frequency_unit: 0,
                    ..valid()
                },
                RecurrenceError::FrequencyUnit,
            ),
            (
                Recurrence {
                    frequency_unit: 367,
                    ..valid()
                },
                RecurrenceError::FrequencyUnit,
            ),
            (
                Recurrence {
                    amount_cents: 98,
                    ..valid()
                },
                RecurrenceError::RecurringAmount,
            ),
            (
                Recurrence {
                    start_ms: TimestampMs::MAX,
                    ..valid()
                },
                RecurrenceError::StartDate,
            ),
            (
                Recurrence {
                    end_ms: Some(valid().start_ms),
                    ..valid()
                },
                RecurrenceError::EndBeforeStart,
            ),
            (
                Recurrence {
                    unit: FrequencyUnitType::Day,
                    end_ms: Some(TimestampMs::MAX),
                    ..valid()
                },
                RecurrenceError::TooManyOccurrences,
            ),
        ];
        for (recurrence, expected) in cases {
            assert_eq!(validate(&recurrence), Err(expected), "{recurrence:?}");
            assert!(expected.to_string().starts_with(expected.field()));
        }
        assert_eq!(RecurrenceError::Frequency.field(), "recurrence.frequency");
        assert_eq!(
            RecurrenceError::TooManyOccurrences.to_string(),
            "recurrence.endDate allows more than 10000 payments"
        );
    }

    #[test]
    fn validation_accepts_the_limits() {
        assert_eq!(validate(&valid()), Ok(()));
        let at_limits = Recurrence {
            frequency: FREQUENCY_MAX,
            frequency_unit: FREQUENCY_UNIT_MAX,
            amount_cents: RECURRING_AMOUNT_MIN_CENTS,
            ..valid()
        };
        assert_eq!(validate(&at_limits), Ok(()));
        // Exactly 10,000 daily payments fit; one more day does not.
        let daily = every(1, FrequencyUnitType::Day, datetime!(2026-06-01 12:00 UTC));
        let last = occurrence(&daily, MAX_OCCURRENCES - 1).unwrap();
        let tenth_thousand = Recurrence {
            end_ms: Some(last),
            ..daily.clone()
        };
        assert_eq!(validate(&tenth_thousand), Ok(()));
        let one_more = Recurrence {
            end_ms: Some(last + DAY_MS),
            ..daily
        };
        assert_eq!(
            validate(&one_more),
            Err(RecurrenceError::TooManyOccurrences)
        );
    }

    proptest! {
        #[test]
        fn occurrences_increase_and_next_agrees(
            start in 946_684_800_000i64..4_102_444_800_000,
            frequency in 1u32..=FREQUENCY_MAX,
            frequency_unit in 1u32..=40,
            unit_code in 1u32..=4,
            n in 0u32..200,
        ) {
            let unit = parse_unit_type(&unit_code.to_string()).unwrap();
            let recurrence = Recurrence {
                start_ms: start,
                end_ms: None,
                frequency,
                frequency_unit,
                unit,
                amount_cents: 1_000,
                automatic_capture: false,
            };
            let here = occurrence(&recurrence, n).unwrap();
            let next = occurrence(&recurrence, n + 1).unwrap();
            prop_assert!(here >= start);
            prop_assert!(next > here);
            prop_assert_eq!(next_occurrence_after(&recurrence, here), Some((n + 1, next)));
            prop_assert_eq!(next_occurrence_after(&recurrence, here - 1), Some((n, here)));
        }
    }
}
