//! The deployment clock: wall time plus an offset kept in the database, so the sandbox can
//! move time forward for everyone and the core never reads a clock itself.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::config::ClockConfig;

/// Simulated "now" in epoch milliseconds. The offset is cached here and refreshed from the
/// store by the workers, so other nodes see an advance within one poll interval.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
    /// A frozen starting point (`clock.start`) used instead of wall time: time then moves only
    /// when advanced, so a run can be repeated exactly.
    fixed_start_ms: Option<i64>,
}

impl Clock {
    pub fn new(offset_ms: i64) -> Clock {
        Clock {
            offset_ms: AtomicI64::new(offset_ms),
            fixed_start_ms: None,
        }
    }

    /// The clock `clock.start` asks for: wall time when empty, frozen at that instant otherwise.
    pub fn from_config(config: &ClockConfig, offset_ms: i64) -> anyhow::Result<Clock> {
        let fixed_start_ms = match config.start.trim() {
            "" => None,
            text => {
                let start = OffsetDateTime::parse(text, &Rfc3339)
                    .with_context(|| format!("clock.start {text:?} is not an RFC 3339 time"))?;
                Some(start.unix_timestamp() * 1000 + i64::from(start.millisecond()))
            }
        };
        Ok(Clock {
            offset_ms: AtomicI64::new(offset_ms),
            fixed_start_ms,
        })
    }

    pub fn now(&self) -> i64 {
        let base = self.fixed_start_ms.unwrap_or_else(wall_time_ms);
        base + self.offset_ms.load(Ordering::Relaxed)
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    pub fn set_offset_ms(&self, offset_ms: i64) {
        self.offset_ms.store(offset_ms, Ordering::Relaxed);
    }
}

/// The one place paybank reads the wall clock.
#[allow(clippy::disallowed_methods)]
pub fn wall_time_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Parses a duration like `90s`, `15m`, `2h`, `3d` (or plain seconds) into seconds.
pub fn parse_duration_seconds(text: &str) -> Option<i64> {
    let text = text.trim();
    let (number, unit_seconds) = match text.char_indices().last()? {
        (idx, 's') => (&text[..idx], 1),
        (idx, 'm') => (&text[..idx], 60),
        (idx, 'h') => (&text[..idx], 3600),
        (idx, 'd') => (&text[..idx], 86_400),
        _ => (text, 1),
    };
    let value: i64 = number.parse().ok()?;
    (value >= 0)
        .then(|| value.checked_mul(unit_seconds))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration_seconds("3d"), Some(259_200));
        assert_eq!(parse_duration_seconds("90"), Some(90));
        assert_eq!(parse_duration_seconds("15m"), Some(900));
        assert_eq!(parse_duration_seconds("-1s"), None);
        assert_eq!(parse_duration_seconds("soon"), None);
    }
}
