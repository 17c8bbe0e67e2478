//! Load over HTTP/1.1 keep-alive. Open loop: requests are due at fixed intervals and latency is
//! measured from when each was due, not when it went out, so a server that falls behind cannot
//! hide its queue (no coordinated omission). Closed loop: a fixed number of connections send
//! back to back, for the peak.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::connections::Connections;

/// One request to send.
#[derive(Clone, Debug)]
pub struct Call {
    pub post: bool,
    pub path: String,
    /// Body of a POST, in the target's `body_type` (form-encoded unless the target says JSON).
    pub form: Option<String>,
}

/// Builds the `n`th request of a run.
pub type Calls = Arc<dyn Fn(u64) -> Call + Send + Sync>;

/// Where requests go and with which credentials.
#[derive(Clone)]
pub struct Target {
    /// For setting up and checking a run; the load itself goes through `connections`.
    pub client: reqwest::Client,
    connections: Arc<Connections>,
    pub base: String,
    /// `(accessId, accessKey)` for HTTP Basic, or none (the ceiling).
    pub credentials: Option<(String, String)>,
    /// Media type of POST bodies. paybank speaks the provider's form-encoded API; Prism
    /// validates bodies against the spec's `application/json` request schemas.
    pub body_type: &'static str,
}

/// The body type paybank's API takes.
pub const FORM: &str = "application/x-www-form-urlencoded";
/// The body type a JSON API takes.
pub const JSON: &str = "application/json";

impl Target {
    pub fn new(base: String, credentials: Option<(String, String)>) -> Target {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1024)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("a plain HTTP client builds");
        Target {
            client,
            connections: Arc::new(Connections::new(&base, credentials.as_ref(), FORM)),
            base,
            credentials,
            body_type: FORM,
        }
    }

    /// The same target, sending POST bodies as JSON.
    pub fn json(self) -> Target {
        let connections = Connections::new(&self.base, self.credentials.as_ref(), JSON);
        Target {
            connections: Arc::new(connections),
            body_type: JSON,
            ..self
        }
    }

    async fn send(&self, call: &Call) -> bool {
        let body = call.form.as_deref();
        self.connections.send(call.post, &call.path, body).await
    }
}

/// What a run achieved.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub offered_rate: Option<f64>,
    pub ok: u64,
    pub errors: u64,
    pub elapsed_s: f64,
    pub latencies_us: Vec<u64>,
}

impl Outcome {
    pub fn achieved_rate(&self) -> f64 {
        self.ok as f64 / self.elapsed_s.max(1e-9)
    }

    /// The latency at quantile `q` (0–1), in microseconds.
    pub fn percentile_us(&self, q: f64) -> u64 {
        if self.latencies_us.is_empty() {
            return 0;
        }
        let rank = ((self.latencies_us.len() - 1) as f64 * q).round() as usize;
        self.latencies_us[rank]
    }
}

/// Records each request's success and latency.
#[derive(Default)]
struct Tally {
    ok: u64,
    errors: u64,
    latencies_us: Vec<u64>,
}

impl Tally {
    /// A tally with room for `expected` requests, its memory written once now. Grown during a
    /// run, it took fresh memory from the kernel mid-load, a page fault at each first touch
    /// (and, while mimalloc asked for huge pages, a 2 MiB page cleared whole, about 5 ms here):
    /// stalls the open loop would count against the server. The fill is not zero, since zeroed
    /// memory comes from the kernel untouched.
    fn with_room_for(expected: usize) -> Tally {
        let mut latencies_us = Vec::with_capacity(expected);
        latencies_us.resize(expected, u64::MAX);
        latencies_us.clear();
        Tally {
            latencies_us,
            ..Tally::default()
        }
    }

    fn record(&mut self, ok: bool, since: Instant) {
        match ok {
            true => self.ok += 1,
            false => self.errors += 1,
        }
        self.latencies_us.push(since.elapsed().as_micros() as u64);
    }
}

fn finish(tally: Arc<Mutex<Tally>>, started: Instant, offered: Option<f64>) -> Outcome {
    let elapsed_s = started.elapsed().as_secs_f64();
    let mut tally = std::mem::take(&mut *tally.lock().expect("tally lock"));
    tally.latencies_us.sort_unstable();
    Outcome {
        offered_rate: offered,
        ok: tally.ok,
        errors: tally.errors,
        elapsed_s,
        latencies_us: tally.latencies_us,
    }
}

/// Sends `rate` requests per second for `seconds`, at most `in_flight_max` at once; a request
/// waiting for a free slot is already late, and its latency says so.
pub async fn open_loop(
    target: &Target,
    calls: Calls,
    rate: f64,
    seconds: f64,
    in_flight_max: usize,
) -> Outcome {
    let total = (rate * seconds).round() as u64;
    let slots = Arc::new(Semaphore::new(in_flight_max));
    let tally = Arc::new(Mutex::new(Tally::with_room_for(total as usize)));
    let mut tasks = JoinSet::new();
    let started = Instant::now();
    let mut next = 0;
    while next < total {
        let due = ((started.elapsed().as_secs_f64() * rate) as u64 + 1).min(total);
        while next < due {
            let intended = started + Duration::from_secs_f64(next as f64 / rate);
            let slot = slots.clone().acquire_owned().await.expect("semaphore open");
            let (target, call, tally) = (target.clone(), calls(next), tally.clone());
            tasks.spawn(async move {
                let ok = target.send(&call).await;
                tally.lock().expect("tally lock").record(ok, intended);
                drop(slot);
            });
            next += 1;
        }
        // A finished task's memory is kept until it is joined; left to the end, 20,000 a second
        // grew the generator by 20 MB/s, in stalls of the kind `Tally::with_room_for` avoids.
        while tasks.try_join_next().is_some() {}
        // The timer wheel ticks in milliseconds, too coarse for these intervals: yield instead.
        tokio::task::yield_now().await;
    }
    while tasks.join_next().await.is_some() {}
    finish(tally, started, Some(rate))
}

/// How long each open-loop run is preceded by the same load, not counted. A server just
/// started on a store just seeded answers its first second or so more slowly (its page caches
/// fill, its memory grows, the generator opens its connections), and at 10,000 captures/s the
/// queue that built then was most of a run's slowest hundredth: the p99 measured that second,
/// not the steady state it is meant to describe. Start-up is measured apart (to the first
/// answer), and the warm-up's own p99 is reported beside the run's.
pub const WARM_UP_SECONDS: f64 = 2.0;

/// Sends `rate` requests per second for [`WARM_UP_SECONDS`] (none in quick mode, which
/// measures nothing) as [`open_loop`] would; returns what it saw and the calls that follow the
/// ones it sent, so request numbers stay unique.
pub async fn warm_up(target: &Target, calls: Calls, rate: f64, quick: bool) -> (Outcome, Calls) {
    let seconds = if quick { 0.0 } else { WARM_UP_SECONDS };
    let warm = open_loop(target, calls.clone(), rate, seconds, IN_FLIGHT_MAX).await;
    let sent = warm.ok + warm.errors;
    (warm, Arc::new(move |n| calls(n + sent)))
}

/// What a row says of the warm-up before it, if there was one.
pub fn warm_up_note(warm: &Outcome) -> Option<String> {
    (warm.ok + warm.errors > 0).then(|| {
        format!(
            "after a {WARM_UP_SECONDS:.0} s warm-up at the same rate, not counted (its p99 {:.1} ms)",
            warm.percentile_us(0.99) as f64 / 1000.0
        )
    })
}

/// Requests in flight at once in an open-loop run.
pub const IN_FLIGHT_MAX: usize = 256;

/// `connections` senders back to back for `seconds`: the most the server answers.
pub async fn closed_loop(
    target: &Target,
    calls: Calls,
    connections: usize,
    seconds: f64,
) -> Outcome {
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut tasks = JoinSet::new();
    let more = move |_| Instant::now() < deadline;
    let tally = back_to_back(&mut tasks, target, calls, connections, (0, more));
    tasks.spawn(keep_awake(deadline));
    while tasks.join_next().await.is_some() {}
    finish(tally, started, None)
}

/// Exactly `total` requests from `connections` senders back to back, numbered from `first`:
/// the same work every time, for counts that must not depend on how fast the machine is.
pub async fn counted_loop(
    target: &Target,
    calls: Calls,
    connections: usize,
    (first, total): (u64, u64),
) -> Outcome {
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    let end = first + total;
    let more = move |n| n < end;
    let tally = back_to_back(&mut tasks, target, calls, connections, (first, more));
    while tasks.join_next().await.is_some() {}
    finish(tally, started, None)
}

/// Spawns `connections` senders into `tasks`, each sending request after request, numbered
/// from `first` across all of them, while `more` allows the next number; their tally.
fn back_to_back(
    tasks: &mut JoinSet<()>,
    target: &Target,
    calls: Calls,
    connections: usize,
    (first, more): (u64, impl Fn(u64) -> bool + Copy + Send + 'static),
) -> Arc<Mutex<Tally>> {
    let tally = Arc::new(Mutex::new(Tally::default()));
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(first));
    for _ in 0..connections {
        let (target, calls, tally, counter) = (
            target.clone(),
            calls.clone(),
            tally.clone(),
            counter.clone(),
        );
        tasks.spawn(async move {
            loop {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if !more(n) {
                    break;
                }
                let sent = Instant::now();
                let ok = target.send(&calls(n)).await;
                tally.lock().expect("tally lock").record(ok, sent);
            }
        });
    }
    tally
}

/// Keeps the generator's thread running until `deadline`, as the open loop's dispatcher does.
/// A generator asleep in `epoll_wait` has to be woken by every answer, and on loopback the
/// server's own `write` pays for that wake-up (an interrupt to the other core): up to 13 % of
/// the server's time in a profile of reads, a cost a client on another machine never puts on it.
async fn keep_awake(deadline: Instant) {
    while Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A warm-up that sent nothing (quick mode) says nothing; one that did says how long it
    /// ran and its p99, and a row's note takes it after what it says already.
    #[test]
    fn a_warm_up_is_noted_beside_the_run_only_when_there_was_one() {
        assert_eq!(warm_up_note(&Outcome::default()), None);
        let warm = Outcome {
            ok: 4,
            latencies_us: vec![900, 1_000, 1_100, 12_345],
            ..Outcome::default()
        };
        let note = warm_up_note(&warm).expect("a note");
        assert_eq!(
            note,
            "after a 2 s warm-up at the same rate, not counted (its p99 12.3 ms)"
        );
        let mut row = crate::report::Row::default();
        row.add_note(&note);
        assert_eq!(row.note, note);
        row.add_note("");
        assert_eq!(row.note, note);
        let mut row = crate::report::Row {
            note: "start-up 10 ms".to_owned(),
            ..Default::default()
        };
        row.add_note(&note);
        assert_eq!(row.note, format!("start-up 10 ms; {note}"));
    }
}
