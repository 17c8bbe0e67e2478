//! When paybank, as the ODFI, delivers ACH files to the operator and when their entries settle,
//! and the date and time fields of NACHA file and batch headers. Return deadlines are in
//! [`crate::return_window`].
//!
//! The rules come from `rails.md` §1.6 (same-day windows, effective entry date, settlement
//! date) and §6 (Fed calendar). All wall times are US Eastern (see
//! [`crate::eastern`]). Deliveries only happen on banking days; each banking day has the same
//! ordered list of windows, and an entry makes the first window whose cut-off is strictly after
//! the moment it is queued.

use time::macros::time;
use time::{Date, Time};

use crate::calendar::{banking_day_on_or_after, is_banking_day, next_banking_day};
use crate::eastern::{eastern_date, eastern_date_time, eastern_to_utc_ms};
use crate::model::TimestampMs;

/// The largest entry the operators accept for same-day settlement: $1,000,000 (since
/// 2022-03-18).
pub const SAME_DAY_ENTRY_LIMIT_CENTS: i64 = 100_000_000;

/// "Opening of business" in the return deadlines (rails.md §1.7), which the rules leave to each
/// bank; paybank uses 08:30 ET, the time next-day entries settle in the default schedule.
pub const OPENING_OF_BUSINESS: Time = time!(08:30);

/// One same-day delivery: paybank's own deadline and the time its entries settle, both ET.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SameDayWindow {
    /// paybank's cut-off, set a little before the operator's submission deadline so the file
    /// has time to transmit.
    pub deadline: Time,
    /// When the operator settles this window's entries, on the same day.
    pub settles_at: Time,
}

/// paybank's file deliveries on each banking day. Fields are public so the server can fill them
/// from configuration; the lists need not be sorted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AchSchedule {
    /// Same-day deliveries (operator deadlines 10:30, 14:45 and 16:45 ET).
    pub same_day_windows: Vec<SameDayWindow>,
    /// Deadlines (ET) of deliveries whose entries settle on the next banking day.
    pub next_day_deadlines: Vec<Time>,
    /// When next-day entries settle (ET) on their settlement date.
    pub next_day_settles_at: Time,
    /// Off: only the next-day deliveries are made and every entry settles next day.
    pub same_day_enabled: bool,
    /// Entries above this amount are never settled same-day.
    pub same_day_entry_limit_cents: i64,
}

impl Default for AchSchedule {
    fn default() -> Self {
        let window = |deadline, settles_at| SameDayWindow {
            deadline,
            settles_at,
        };
        AchSchedule {
            // Fifteen minutes before each operator deadline (10:30, 14:45, 16:45 ET).
            same_day_windows: vec![
                window(time!(10:15), time!(13:00)),
                window(time!(14:30), time!(17:00)),
                window(time!(16:30), time!(18:00)),
            ],
            next_day_deadlines: vec![time!(20:00)],
            next_day_settles_at: OPENING_OF_BUSINESS,
            same_day_enabled: true,
            same_day_entry_limit_cents: SAME_DAY_ENTRY_LIMIT_CENTS,
        }
    }
}

/// One delivery of a file to the ACH operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// paybank's cut-off for the delivery: entries queued strictly before it go in this file.
    pub cutoff_at: TimestampMs,
    /// Whether the delivery is a same-day one (its eligible entries settle the same day).
    pub same_day: bool,
}

/// When an entry sent in a given window settles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// The Effective Entry Date paybank writes in the batch header.
    pub effective_entry_date: Date,
    /// The banking day the operator settles the entry; return deadlines run from it.
    pub settlement_date: Date,
    /// The instant the money moves.
    pub settles_at: TimestampMs,
}

/// Every delivery on the Eastern date `date`, in cut-off order; none on a non-banking day.
///
/// With same-day disabled only the next-day deliveries are listed. When a same-day and a
/// next-day deadline coincide, the same-day delivery comes first.
pub fn windows_on(date: Date, schedule: &AchSchedule) -> Vec<Window> {
    let mut windows: Vec<Window> = deliveries_on(date, schedule).collect();
    windows.sort_by_key(delivery_order);
    windows.dedup();
    windows
}

/// The deliveries on the Eastern date `date` in the schedule's order (none on a non-banking
/// day), unsorted and possibly repeated.
fn deliveries_on(date: Date, schedule: &AchSchedule) -> impl Iterator<Item = Window> + '_ {
    let banking_day = is_banking_day(date);
    let same_day = (schedule.same_day_windows.iter())
        .filter(move |_| banking_day && schedule.same_day_enabled)
        .map(|window| (window.deadline, true));
    let next_day = (schedule.next_day_deadlines.iter())
        .filter(move |_| banking_day)
        .map(|deadline| (*deadline, false));
    same_day
        .chain(next_day)
        .map(move |(deadline, same_day)| Window {
            cutoff_at: eastern_to_utc_ms(date, deadline),
            same_day,
        })
}

/// Cut-off order; a same-day delivery before a next-day one with the same cut-off.
fn delivery_order(window: &Window) -> (TimestampMs, bool) {
    (window.cutoff_at, !window.same_day)
}

/// The first delivery on `date`, in [`windows_on`]'s order, whose cut-off is after `now`:
/// the least of them, found without listing and sorting them (a capture asks at every accept).
fn first_delivery_after(date: Date, schedule: &AchSchedule, now: TimestampMs) -> Option<Window> {
    deliveries_on(date, schedule)
        .filter(|window| window.cutoff_at > now)
        .min_by_key(delivery_order)
}

/// The first delivery whose cut-off is strictly after `now`, on a banking day.
///
/// An entry queued exactly at a cut-off misses it. `None` only if the schedule has no
/// deliveries at all (both lists empty, or same-day disabled and no next-day deadline) or the
/// answer would lie beyond the representable dates.
pub fn next_window(now: TimestampMs, schedule: &AchSchedule) -> Option<Window> {
    let today = eastern_date(now);
    let later_today = first_delivery_after(today, schedule, now);
    if later_today.is_some() {
        return later_today;
    }
    // Every delivery on a later date is after `now`, so the next banking day's first one wins.
    first_delivery_after(next_banking_day(today), schedule, now)
}

/// Whether an entry of `amount_cents` may settle same-day under `schedule`: same-day must be
/// enabled and the amount at most the per-entry limit. (paybank originates no IAT or ENR
/// entries, the other same-day exclusions.)
pub fn entry_is_same_day_eligible(amount_cents: i64, schedule: &AchSchedule) -> bool {
    schedule.same_day_enabled
        && amount_cents
            .checked_abs()
            .is_some_and(|amount| amount <= schedule.same_day_entry_limit_cents)
}

/// The same-day settlement time of the same-day delivery whose deadline is `cutoff` (or, for a
/// cut-off not in the schedule, the first same-day delivery it would still make).
fn same_day_settlement_time(cutoff: Time, schedule: &AchSchedule) -> Option<Time> {
    schedule
        .same_day_windows
        .iter()
        .filter(|window| window.deadline >= cutoff)
        .min_by_key(|window| window.deadline)
        .map(|window| window.settles_at)
}

/// Settlement of an entry delivered on `date` that does not settle same-day.
fn next_day_settlement(date: Date, schedule: &AchSchedule) -> Settlement {
    let effective_entry_date = next_banking_day(date);
    // Already a banking day; rolled anyway because the operator settles a weekend or holiday
    // effective date on the next banking day (rails.md §1.6).
    let settlement_date = banking_day_on_or_after(effective_entry_date);
    Settlement {
        effective_entry_date,
        settlement_date,
        settles_at: eastern_to_utc_ms(settlement_date, schedule.next_day_settles_at),
    }
}

/// When an entry of `amount_cents` delivered in `window` settles.
///
/// A same-day delivery's entries get that day as effective entry date and settle at the
/// delivery's settlement time, unless the entry is not same-day eligible (over the limit, or
/// same-day disabled) or the window is not on a banking day: then, like next-day deliveries, the
/// effective entry date is the next banking day and the entry settles at the next-day
/// settlement time on that day.
pub fn settlement_for(window: &Window, amount_cents: i64, schedule: &AchSchedule) -> Settlement {
    let local = eastern_date_time(window.cutoff_at);
    let date = local.date();
    let same_day = window.same_day
        && is_banking_day(date)
        && entry_is_same_day_eligible(amount_cents, schedule);
    match same_day_settlement_time(local.time(), schedule).filter(|_| same_day) {
        Some(settles_at) => Settlement {
            effective_entry_date: date,
            settlement_date: date,
            settles_at: eastern_to_utc_ms(date, settles_at),
        },
        None => next_day_settlement(date, schedule),
    }
}

/// The day of the year (1–366) of `date`: the 3-digit Julian Settlement Date of a batch header.
pub fn julian_day_of_year(date: Date) -> u16 {
    date.ordinal()
}

/// `date` as `YYMMDD`, the form of the File Creation Date and Effective Entry Date fields.
pub fn yymmdd(date: Date) -> String {
    format!(
        "{:02}{:02}{:02}",
        date.year().rem_euclid(100),
        u8::from(date.month()),
        date.day()
    )
}

/// The Eastern wall time at `at` as `HHMM`, the form of the File Creation Time field.
pub fn hhmm_eastern(at: TimestampMs) -> String {
    let local = eastern_date_time(at);
    format!("{:02}{:02}", local.hour(), local.minute())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::{date, datetime};
    use time::OffsetDateTime;

    fn ms(at: OffsetDateTime) -> TimestampMs {
        let nanos = at.unix_timestamp_nanos() / 1_000_000;
        TimestampMs::try_from(nanos).unwrap()
    }

    fn et(date: Date, at: Time) -> TimestampMs {
        eastern_to_utc_ms(date, at)
    }

    fn same_day(date: Date, at: Time) -> Window {
        Window {
            cutoff_at: et(date, at),
            same_day: true,
        }
    }

    fn next_day(date: Date, at: Time) -> Window {
        Window {
            cutoff_at: et(date, at),
            same_day: false,
        }
    }

    fn next(now: TimestampMs) -> Window {
        next_window(now, &AchSchedule::default()).unwrap()
    }

    #[test]
    fn default_windows_of_a_banking_day() {
        let day = date!(2026 - 06 - 08);
        assert_eq!(
            windows_on(day, &AchSchedule::default()),
            vec![
                same_day(day, time!(10:15)),
                same_day(day, time!(14:30)),
                same_day(day, time!(16:30)),
                next_day(day, time!(20:00)),
            ]
        );
        // Summer: 10:15 EDT is 14:15 UTC.
        assert_eq!(
            same_day(day, time!(10:15)).cutoff_at,
            ms(datetime!(2026-06-08 14:15 UTC))
        );
        assert!(windows_on(date!(2026 - 06 - 06), &AchSchedule::default()).is_empty());
    }

    #[test]
    fn walks_through_a_banking_day() {
        let day = date!(2026 - 06 - 08);
        assert_eq!(next(et(day, time!(00:00))), same_day(day, time!(10:15)));
        assert_eq!(next(et(day, time!(10:15)) - 1), same_day(day, time!(10:15)));
        // Exactly at the cut-off is too late: strictly after.
        assert_eq!(next(et(day, time!(10:15))), same_day(day, time!(14:30)));
        assert_eq!(next(et(day, time!(14:30))), same_day(day, time!(16:30)));
        assert_eq!(next(et(day, time!(16:30))), next_day(day, time!(20:00)));
        assert_eq!(
            next(et(day, time!(20:00))),
            same_day(date!(2026 - 06 - 09), time!(10:15))
        );
    }

    #[test]
    fn sunday_waits_for_monday() {
        let sunday = date!(2026 - 06 - 07);
        let monday = date!(2026 - 06 - 08);
        assert_eq!(
            next(et(sunday, time!(12:00))),
            same_day(monday, time!(10:15))
        );
        // Late Saturday night in ET is already Sunday in UTC; still Monday's first window.
        let saturday_night = ms(datetime!(2026-06-07 03:30 UTC));
        assert_eq!(next(saturday_night), same_day(monday, time!(10:15)));
    }

    #[test]
    fn friday_before_a_monday_holiday() {
        let friday = date!(2026 - 05 - 22);
        let tuesday = date!(2026 - 05 - 26);
        let late = et(friday, time!(20:00));
        assert_eq!(next(late), same_day(tuesday, time!(10:15)));
        let settlement = settlement_for(
            &next_day(friday, time!(20:00)),
            10_000,
            &AchSchedule::default(),
        );
        assert_eq!(
            settlement,
            Settlement {
                effective_entry_date: tuesday,
                settlement_date: tuesday,
                settles_at: ms(datetime!(2026-05-26 12:30 UTC)),
            }
        );
    }

    #[test]
    fn saturday_holiday_friday_is_open() {
        let friday = date!(2026 - 07 - 03);
        let window = next(et(friday, time!(09:00)));
        assert_eq!(window, same_day(friday, time!(10:15)));
        let settlement = settlement_for(&window, 10_000, &AchSchedule::default());
        assert_eq!(settlement.effective_entry_date, friday);
        assert_eq!(settlement.settlement_date, friday);
        assert_eq!(settlement.settles_at, ms(datetime!(2026-07-03 17:00 UTC)));
        let overnight = settlement_for(
            &next_day(friday, time!(20:00)),
            10_000,
            &AchSchedule::default(),
        );
        assert_eq!(overnight.effective_entry_date, date!(2026 - 07 - 06));
    }

    #[test]
    fn dst_edges_move_the_utc_cut_offs() {
        // Friday before the March switch is EST; the Monday after is EDT.
        let friday = date!(2026 - 03 - 06);
        assert_eq!(
            same_day(friday, time!(10:15)).cutoff_at,
            ms(datetime!(2026-03-06 15:15 UTC))
        );
        let monday_window = next(et(friday, time!(21:00)));
        assert_eq!(monday_window.cutoff_at, ms(datetime!(2026-03-09 14:15 UTC)));
        // And the other way in November.
        let window = next(et(date!(2026 - 10 - 30), time!(21:00)));
        assert_eq!(window.cutoff_at, ms(datetime!(2026-11-02 15:15 UTC)));
        // A next-day entry sent Friday 2026-10-30 (EDT) settles Monday 08:30 EST.
        let settlement = settlement_for(
            &next_day(date!(2026 - 10 - 30), time!(20:00)),
            1,
            &AchSchedule::default(),
        );
        assert_eq!(settlement.settles_at, ms(datetime!(2026-11-02 13:30 UTC)));
    }

    #[test]
    fn same_day_settlement_times() {
        let day = date!(2026 - 01 - 14);
        let schedule = AchSchedule::default();
        let settles = |at| settlement_for(&same_day(day, at), 500, &schedule).settles_at;
        assert_eq!(settles(time!(10:15)), ms(datetime!(2026-01-14 18:00 UTC)));
        assert_eq!(settles(time!(14:30)), ms(datetime!(2026-01-14 22:00 UTC)));
        assert_eq!(settles(time!(16:30)), ms(datetime!(2026-01-14 23:00 UTC)));
    }

    #[test]
    fn same_day_limit() {
        let schedule = AchSchedule::default();
        assert!(entry_is_same_day_eligible(100_000_000, &schedule));
        assert!(!entry_is_same_day_eligible(100_000_001, &schedule));
        assert!(!entry_is_same_day_eligible(i64::MIN, &schedule));
        let monday = date!(2026 - 06 - 08);
        let window = same_day(monday, time!(10:15));
        let big = settlement_for(&window, 100_000_001, &schedule);
        assert_eq!(
            big,
            Settlement {
                effective_entry_date: date!(2026 - 06 - 09),
                settlement_date: date!(2026 - 06 - 09),
                settles_at: ms(datetime!(2026-06-09 12:30 UTC)),
            }
        );
        let at_limit = settlement_for(&window, 100_000_000, &schedule);
        assert_eq!(at_limit.settlement_date, monday);
    }

    #[test]
    fn same_day_disabled() {
        let schedule = AchSchedule {
            same_day_enabled: false,
            ..AchSchedule::default()
        };
        let monday = date!(2026 - 06 - 08);
        let window = next_window(et(monday, time!(09:00)), &schedule).unwrap();
        assert_eq!(window, next_day(monday, time!(20:00)));
        assert!(!entry_is_same_day_eligible(1, &schedule));
        // A same-day window built by hand still settles next day.
        let settlement = settlement_for(&same_day(monday, time!(10:15)), 1, &schedule);
        assert_eq!(settlement.settlement_date, date!(2026 - 06 - 09));
    }

    #[test]
    fn empty_schedule_has_no_window() {
        let schedule = AchSchedule {
            same_day_enabled: false,
            next_day_deadlines: Vec::new(),
            ..AchSchedule::default()
        };
        assert_eq!(next_window(0, &schedule), None);
        assert_eq!(next_window(TimestampMs::MAX, &AchSchedule::default()), None);
    }

    #[test]
    fn next_day_rolls_over_thanksgiving() {
        let wednesday = date!(2026 - 11 - 25);
        let friday = date!(2026 - 11 - 27);
        let settlement = settlement_for(
            &next_day(wednesday, time!(20:00)),
            10_000,
            &AchSchedule::default(),
        );
        assert_eq!(settlement.effective_entry_date, friday);
        assert_eq!(settlement.settlement_date, friday);
        assert_eq!(settlement.settles_at, ms(datetime!(2026-11-27 13:30 UTC)));
        assert_eq!(
            next(et(wednesday, time!(21:00))),
            same_day(friday, time!(10:15))
        );
        // A same-day window on the holiday itself (built by hand) does not settle that day.
        let thursday = date!(2026 - 11 - 26);
        let holiday = settlement_for(
            &same_day(thursday, time!(10:15)),
            1,
            &AchSchedule::default(),
        );
        assert_eq!(holiday.settlement_date, friday);
    }

    #[test]
    fn off_schedule_same_day_cut_off_uses_the_next_deadline() {
        let day = date!(2026 - 06 - 08);
        let window = same_day(day, time!(12:00));
        let settlement = settlement_for(&window, 1, &AchSchedule::default());
        assert_eq!(settlement.settles_at, et(day, time!(17:00)));
        let too_late = settlement_for(&same_day(day, time!(17:00)), 1, &AchSchedule::default());
        assert_eq!(too_late.settlement_date, date!(2026 - 06 - 09));
    }

    #[test]
    fn header_fields() {
        assert_eq!(julian_day_of_year(date!(2026 - 01 - 01)), 1);
        assert_eq!(julian_day_of_year(date!(2026 - 02 - 01)), 32);
        assert_eq!(julian_day_of_year(date!(2026 - 12 - 31)), 365);
        assert_eq!(julian_day_of_year(date!(2028 - 12 - 31)), 366);
        assert_eq!(yymmdd(date!(2026 - 07 - 03)), "260703");
        assert_eq!(yymmdd(date!(2005 - 01 - 02)), "050102");
        assert_eq!(yymmdd(date!(2100 - 11 - 30)), "001130");
        assert_eq!(hhmm_eastern(ms(datetime!(2026-07-15 18:30 UTC))), "1430");
        assert_eq!(hhmm_eastern(ms(datetime!(2026-01-16 03:05:59 UTC))), "2205");
    }

    /// Every delivery between the Eastern dates `from` and `to`, computed directly from the
    /// schedule rather than through `windows_on`.
    fn all_deliveries(from: Date, to: Date, schedule: &AchSchedule) -> Vec<Window> {
        let mut out = Vec::new();
        let mut day = from;
        while day <= to {
            if is_banking_day(day) {
                if schedule.same_day_enabled {
                    for window in &schedule.same_day_windows {
                        out.push(same_day(day, window.deadline));
                    }
                }
                for deadline in &schedule.next_day_deadlines {
                    out.push(next_day(day, *deadline));
                }
            }
            day = day.next_day().unwrap();
        }
        out
    }

    proptest! {
        #[test]
        fn next_window_is_the_earliest_later_delivery(
            // 2000-01-01 to 2100-01-01.
            now in 946_684_800_000i64..4_102_444_800_000,
            same_day_enabled: bool,
        ) {
            let schedule = AchSchedule { same_day_enabled, ..AchSchedule::default() };
            let window = next_window(now, &schedule).unwrap();
            prop_assert!(window.cutoff_at > now);
            let date = eastern_date(window.cutoff_at);
            prop_assert!(is_banking_day(date));
            prop_assert!(same_day_enabled || !window.same_day);
            let deliveries = all_deliveries(eastern_date(now), date, &schedule);
            prop_assert!(deliveries.contains(&window));
            for other in deliveries {
                prop_assert!(
                    other.cutoff_at <= now || other.cutoff_at >= window.cutoff_at,
                    "{other:?} is between {now} and {window:?}"
                );
            }
        }

        /// Found without listing them, the next delivery is the first of the listed ones
        /// after `now`, same-day first where cut-offs tie, as `windows_on` orders them.
        #[test]
        fn next_window_is_the_first_listed_after_now(
            now in 946_684_800_000i64..4_102_444_800_000,
            same_day_enabled: bool,
            tie: bool,
        ) {
            let mut schedule = AchSchedule { same_day_enabled, ..AchSchedule::default() };
            if tie {
                // A next-day deadline at the first same-day one's: the same-day delivery wins.
                let first = schedule.same_day_windows[0].deadline;
                schedule.next_day_deadlines.insert(0, first);
            }
            let today = eastern_date(now);
            let listed = windows_on(today, &schedule)
                .into_iter()
                .chain(windows_on(next_banking_day(today), &schedule))
                .find(|window| window.cutoff_at > now);
            prop_assert_eq!(next_window(now, &schedule), listed);
        }
    }
}
