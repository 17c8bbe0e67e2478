//! How long a receiving bank has to return an ACH entry (rails.md §1.7): each return code's
//! time frame, and the instant a return must reach paybank by.

use time::{Date, Duration};

use crate::ach_schedule::OPENING_OF_BUSINESS;
use crate::calendar::{add_banking_days, next_banking_day};
use crate::eastern::eastern_to_utc_ms;
use crate::model::TimestampMs;

/// How long an RDFI has to return an entry (rails.md §1.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnTimeFrame {
    /// By the opening of business on the n-th banking day after the settlement date.
    BankingDays(u32),
    /// By the opening of business on the banking day after the n-th calendar day after the
    /// settlement date.
    CalendarDays(u32),
}

/// The instant (opening of business, ET) by which a return of an entry that settled on
/// `settlement_date` must be available to paybank. Saturates at the last representable date.
pub fn return_deadline(settlement_date: Date, time_frame: ReturnTimeFrame) -> TimestampMs {
    let day = match time_frame {
        ReturnTimeFrame::BankingDays(days) => add_banking_days(settlement_date, days),
        ReturnTimeFrame::CalendarDays(days) => settlement_date
            .checked_add(Duration::days(i64::from(days)))
            .map_or(Date::MAX, next_banking_day),
    };
    eastern_to_utc_ms(day, OPENING_OF_BUSINESS)
}

/// The time frame of a return reason code (`R01`…, case-insensitive), per rails.md §1.7.
///
/// `None` means there is no fixed limit to enforce: R06 (returned at the ODFI's request: any time
/// the RDFI agrees), R23 (credit refused: whenever the refusal arrives) and R31 (late return the
/// ODFI agreed to), and also any code rails.md does not list, for which paybank claims no
/// deadline rather than guess one.
pub fn return_time_frame(code: &str) -> Option<ReturnTimeFrame> {
    match code.trim().to_ascii_uppercase().as_str() {
        "R01" | "R02" | "R03" | "R04" | "R08" | "R09" | "R16" | "R20" | "R24" | "R29" => {
            Some(ReturnTimeFrame::BankingDays(2))
        }
        // Unauthorized-debit returns need the consumer's written statement and get 60 days.
        "R05" | "R07" | "R10" | "R11" => Some(ReturnTimeFrame::CalendarDays(60)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};
    use time::OffsetDateTime;

    fn ms(at: OffsetDateTime) -> TimestampMs {
        let nanos = at.unix_timestamp_nanos() / 1_000_000;
        TimestampMs::try_from(nanos).unwrap()
    }

    #[test]
    fn return_deadlines() {
        // Two banking days after Wednesday 2026-11-25 skips Thanksgiving and the weekend.
        assert_eq!(
            return_deadline(date!(2026 - 11 - 25), ReturnTimeFrame::BankingDays(2)),
            ms(datetime!(2026-11-30 13:30 UTC))
        );
        assert_eq!(
            return_deadline(date!(2026 - 06 - 08), ReturnTimeFrame::BankingDays(2)),
            ms(datetime!(2026-06-10 12:30 UTC))
        );
        // 60 days after 2026-06-01 is Friday 2026-07-31; the banking day after is Monday.
        assert_eq!(
            return_deadline(date!(2026 - 06 - 01), ReturnTimeFrame::CalendarDays(60)),
            ms(datetime!(2026-08-03 12:30 UTC))
        );
        // 60 days after 2026-05-06 is Sunday 2026-07-05; the banking day after is Monday.
        assert_eq!(
            return_deadline(date!(2026 - 05 - 06), ReturnTimeFrame::CalendarDays(60)),
            ms(datetime!(2026-07-06 12:30 UTC))
        );
        // Saturates instead of panicking.
        return_deadline(Date::MAX, ReturnTimeFrame::CalendarDays(u32::MAX));
    }

    #[test]
    fn return_time_frames() {
        for code in [
            "R01", "R02", "R03", "R04", "R08", "R09", "R16", "R20", "R24", "R29",
        ] {
            assert_eq!(
                return_time_frame(code),
                Some(ReturnTimeFrame::BankingDays(2)),
                "{code}"
            );
        }
        for code in ["R05", "R07", "R10", "R11"] {
            assert_eq!(
                return_time_frame(code),
                Some(ReturnTimeFrame::CalendarDays(60)),
                "{code}"
            );
        }
        for code in ["R06", "R23", "R31", "R99", "", "01"] {
            assert_eq!(return_time_frame(code), None, "{code}");
        }
        assert_eq!(
            return_time_frame(" r01 "),
            Some(ReturnTimeFrame::BankingDays(2))
        );
    }
}
