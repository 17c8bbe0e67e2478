//! SQLite's own page cache, wrapped so that dropping the pages past the end of the database
//! after each write transaction does not visit every cached page.
//!
//! After a write transaction SQLite drops cached pages numbered past the database's end
//! (`xTruncate`). Its cache scans only the hash buckets of pages past that end, unless it has
//! seen a page number at least a hash table's width beyond it; then it scans every bucket. When
//! a B-tree split renumbers pages, SQLite parks a page at the lock page's number (page 262,145
//! at 4 KiB pages, the 1 GiB mark), so in a database under 1 GiB nearly every batch that split a
//! page scanned all of the writer's 8,192 buckets and their pages: 3–5 % of a durable capture's
//! CPU (BENCHMARKS.md, SQLite captures item 14).
//!
//! The wrapper passes every call to SQLite's cache and remembers the page numbers that entered
//! it past the end it last truncated to. A truncation that does not move that end backwards
//! then drops exactly those pages, one lookup each, and leaves the cache's own scan unused. A
//! truncation that moves it backwards (a rolled-back transaction that had grown the file), or
//! a list that grew too long to keep, goes to SQLite's truncation as before.

#![allow(unsafe_code)]

use std::mem::MaybeUninit;
use std::os::raw::{c_int, c_uint, c_void};
use std::sync::{Mutex, OnceLock};

use rusqlite::ffi;

/// Page numbers remembered per cache before it stops remembering until SQLite's own truncation
/// runs. A write transaction adds the pages it appends and the ones a split parks.
const REMEMBERED_MAX: usize = 1024;

/// SQLite's own page cache, which the wrapper passes its calls to.
struct Inner(ffi::sqlite3_pcache_methods2);

// SAFETY: the methods are SQLite's functions and the argument it gave them; SQLite calls them
// from whichever thread uses a connection, and serialises what they share.
unsafe impl Send for Inner {}
unsafe impl Sync for Inner {}

static INNER: OnceLock<Inner> = OnceLock::new();

/// Puts the wrapper in place. It must run before SQLite is first used in the process (any
/// connection opened), so `main` calls it first; later, SQLite refuses and its own cache stays.
/// Returns whether the wrapper is in place.
pub fn install_page_cache() -> bool {
    static INSTALLED: Mutex<Option<bool>> = Mutex::new(None);
    let mut installed = INSTALLED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    *installed.get_or_insert_with(try_install)
}

fn try_install() -> bool {
    let mut own = MaybeUninit::<ffi::sqlite3_pcache_methods2>::zeroed();
    // SAFETY: GETPCACHE2 writes SQLite's cache methods into the struct it is given.
    let status = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_GETPCACHE2, own.as_mut_ptr()) };
    if status != ffi::SQLITE_OK {
        return false;
    }
    // SAFETY: SQLite filled every field above.
    let own = unsafe { own.assume_init() };
    if INNER.set(Inner(own)).is_err() {
        return false;
    }
    let wrapper = ffi::sqlite3_pcache_methods2 {
        iVersion: 1,
        pArg: std::ptr::null_mut(),
        xInit: Some(init),
        xShutdown: Some(shutdown),
        xCreate: Some(create),
        xCachesize: Some(cache_size),
        xPagecount: Some(page_count),
        xFetch: Some(fetch),
        xUnpin: Some(unpin),
        xRekey: Some(rekey),
        xTruncate: Some(truncate),
        xDestroy: Some(destroy),
        xShrink: Some(shrink),
    };
    // SAFETY: PCACHE2 copies the struct; every method in it is defined below.
    let status = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_PCACHE2, &wrapper) };
    status == ffi::SQLITE_OK
}

/// One connection's cache: SQLite's, and what the wrapper remembers of it.
struct Cache {
    inner: *mut ffi::sqlite3_pcache,
    /// The end the cache was last truncated to: no page past it entered without being
    /// remembered, unless `gave_up` or the end is 0.
    end: c_uint,
    /// Page numbers that entered past `end` (some perhaps gone again, some twice).
    remembered: Vec<c_uint>,
    /// Too many to remember: the next truncation is SQLite's own.
    gave_up: bool,
}

impl Cache {
    fn remember(&mut self, key: c_uint) {
        if key <= self.end || self.not_remembering() || self.remembered.last() == Some(&key) {
            return;
        }
        if self.remembered.len() == REMEMBERED_MAX {
            self.remembered.sort_unstable();
            self.remembered.dedup();
        }
        match self.remembered.len() < REMEMBERED_MAX {
            true => self.remembered.push(key),
            false => self.gave_up = true,
        }
    }

    /// Whether the next truncation is SQLite's own. So it is after a truncation to nothing:
    /// a connection that only reads is truncated only so, to empty its cache after another
    /// connection's commit, and every page it holds is past that end. Remembering each page it
    /// reads would only list them all again, and for a small database, whose pages it reads
    /// over and over, sort the list each time it filled.
    fn not_remembering(&self) -> bool {
        self.gave_up || self.end == 0
    }
}

fn methods() -> &'static ffi::sqlite3_pcache_methods2 {
    &INNER.get().expect("installed before use").0
}

/// # Safety
/// `cache` is a pointer `create` returned and `destroy` has not freed.
unsafe fn cache<'a>(cache: *mut ffi::sqlite3_pcache) -> &'a mut Cache {
    // SAFETY: the caller's promise; SQLite uses one cache from one thread at a time.
    unsafe { &mut *cache.cast::<Cache>() }
}

extern "C" fn init(_: *mut c_void) -> c_int {
    let own = methods();
    // SAFETY: SQLite's own method with its own argument.
    own.xInit
        .map_or(ffi::SQLITE_OK, |init| unsafe { init(own.pArg) })
}

extern "C" fn shutdown(_: *mut c_void) {
    let own = methods();
    if let Some(shutdown) = own.xShutdown {
        // SAFETY: as in `init`.
        unsafe { shutdown(own.pArg) }
    }
}

extern "C" fn create(page_size: c_int, extra: c_int, purgeable: c_int) -> *mut ffi::sqlite3_pcache {
    let create = methods().xCreate.expect("SQLite's cache creates");
    // SAFETY: SQLite's own method with the arguments SQLite gave.
    let inner = unsafe { create(page_size, extra, purgeable) };
    if inner.is_null() {
        return inner;
    }
    let cache = Box::new(Cache {
        inner,
        end: 0,
        remembered: Vec::new(),
        gave_up: false,
    });
    Box::into_raw(cache).cast()
}

extern "C" fn cache_size(pointer: *mut ffi::sqlite3_pcache, pages: c_int) {
    // SAFETY: SQLite passes back a cache `create` made.
    let cache = unsafe { cache(pointer) };
    let size = methods().xCachesize.expect("SQLite's cache is sized");
    // SAFETY: SQLite's method on SQLite's cache.
    unsafe { size(cache.inner, pages) }
}

extern "C" fn page_count(pointer: *mut ffi::sqlite3_pcache) -> c_int {
    // SAFETY: as in `cache_size`.
    let cache = unsafe { cache(pointer) };
    let count = methods().xPagecount.expect("SQLite's cache counts");
    // SAFETY: as in `cache_size`.
    unsafe { count(cache.inner) }
}

extern "C" fn fetch(
    pointer: *mut ffi::sqlite3_pcache,
    key: c_uint,
    create: c_int,
) -> *mut ffi::sqlite3_pcache_page {
    // SAFETY: as in `cache_size`.
    let cache = unsafe { cache(pointer) };
    // Only a fetch that may create can bring a page in.
    if create != 0 {
        cache.remember(key);
    }
    let fetch = methods().xFetch.expect("SQLite's cache fetches");
    // SAFETY: as in `cache_size`.
    unsafe { fetch(cache.inner, key, create) }
}

extern "C" fn unpin(
    pointer: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    discard: c_int,
) {
    // SAFETY: as in `cache_size`; `page` is one SQLite's cache handed out.
    let cache = unsafe { cache(pointer) };
    let unpin = methods().xUnpin.expect("SQLite's cache unpins");
    // SAFETY: as above.
    unsafe { unpin(cache.inner, page, discard) }
}

extern "C" fn rekey(
    pointer: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    old: c_uint,
    new: c_uint,
) {
    // SAFETY: as in `unpin`.
    let cache = unsafe { cache(pointer) };
    cache.remember(new);
    let rekey = methods().xRekey.expect("SQLite's cache renumbers");
    // SAFETY: as in `unpin`.
    unsafe { rekey(cache.inner, page, old, new) }
}

/// Drops every page numbered `limit` or more.
extern "C" fn truncate(pointer: *mut ffi::sqlite3_pcache, limit: c_uint) {
    // SAFETY: as in `cache_size`.
    let cache = unsafe { cache(pointer) };
    let new_end = limit.saturating_sub(1);
    let own = methods();
    if cache.not_remembering() || new_end < cache.end {
        let truncate = own.xTruncate.expect("SQLite's cache truncates");
        // SAFETY: as in `cache_size`.
        unsafe { truncate(cache.inner, limit) };
    } else {
        let fetch = own.xFetch.expect("SQLite's cache fetches");
        let unpin = own.xUnpin.expect("SQLite's cache unpins");
        for &key in cache.remembered.iter().filter(|&&key| key >= limit) {
            // SAFETY: a lookup that creates nothing, then the page it found dropped, as
            // SQLite's own truncation drops it.
            unsafe {
                let page = fetch(cache.inner, key, 0);
                if !page.is_null() {
                    unpin(cache.inner, page, 1);
                }
            }
        }
    }
    cache.remembered.clear();
    cache.gave_up = false;
    cache.end = new_end;
}

extern "C" fn destroy(pointer: *mut ffi::sqlite3_pcache) {
    // SAFETY: `create` made this box; SQLite destroys a cache once and uses it no more.
    let cache = unsafe { Box::from_raw(pointer.cast::<Cache>()) };
    let destroy = methods().xDestroy.expect("SQLite's cache is destroyed");
    // SAFETY: SQLite's cache, destroyed once with its wrapper.
    unsafe { destroy(cache.inner) }
}

extern "C" fn shrink(pointer: *mut ffi::sqlite3_pcache) {
    // SAFETY: as in `cache_size`.
    let cache = unsafe { cache(pointer) };
    if let Some(shrink) = methods().xShrink {
        // SAFETY: as in `cache_size`.
        unsafe { shrink(cache.inner) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(end: c_uint) -> Cache {
        Cache {
            inner: std::ptr::null_mut(),
            end,
            remembered: Vec::new(),
            gave_up: false,
        }
    }

    /// A cache last truncated to nothing (a connection that only reads) lists no pages, however
    /// many it reads; one truncated to a database's end lists the pages past it, once each
    /// when read again in a row, and gives up past the most it keeps.
    #[test]
    fn only_a_cache_truncated_to_an_end_remembers_the_pages_past_it() {
        let mut reader = cache(0);
        for key in (1..3 * REMEMBERED_MAX as c_uint).chain(1..5) {
            reader.remember(key);
        }
        assert!(reader.remembered.is_empty() && reader.not_remembering());

        let mut writer = cache(100);
        for key in [7, 100, 101, 101, 262_145, 102] {
            writer.remember(key);
        }
        assert_eq!(writer.remembered, [101, 262_145, 102]);
        assert!(!writer.not_remembering());
        for key in 1_000..1_000 + REMEMBERED_MAX as c_uint {
            writer.remember(key);
        }
        assert!(writer.not_remembering());
    }
}
