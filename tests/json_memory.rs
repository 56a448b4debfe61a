//! Peak heap of the JSON parser, measured by a counting allocator (no timing): memory stays
//! proportional to the input with a small factor, whatever the nesting.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use xlchannel::channel::json::device_channel_from_json;
use xlchannel::json::{self, parser::MAX_DEPTH};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only counts are kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on as it is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
        }
        p
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc` is passed on as it is.
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            let now = CURRENT.fetch_add(new_size, Ordering::SeqCst) + new_size;
            PEAK.fetch_max(now, Ordering::SeqCst);
            CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        }
        q
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        // SAFETY: `p` came from `alloc` with this layout.
        unsafe { System.dealloc(p, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes allocated at the peak of `f`, above what was allocated before it.
fn peak_of(f: impl FnOnce()) -> usize {
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    f();
    PEAK.load(Ordering::SeqCst) - base
}

/// The bound every input must stay under: a small factor of its size (a 2-byte array element
/// is a 32-byte `Value`, in a vector that grows by doubling), plus what MAX_DEPTH open
/// containers may cost (about 150 bytes each). Before the depth limit, 10 MB of `[[...]]`
/// peaked near 1 GB.
fn bound(input: &[u8]) -> usize {
    32 * input.len() + (4 << 20)
}

fn check(what: &str, input: &[u8], expect_ok: bool) -> usize {
    let peak = peak_of(|| {
        assert_eq!(json::parse(input).is_ok(), expect_ok, "{what}");
        let _ = device_channel_from_json(input);
    });
    eprintln!("{what}: {} bytes in, peak {peak} bytes", input.len());
    assert!(
        peak <= bound(input),
        "{what}: peak {peak} bytes for {} bytes of input",
        input.len()
    );
    peak
}

/// One test, so nothing else allocates while a measurement runs (the counters are
/// process-wide).
#[test]
fn peak_heap_is_proportional_to_the_input() {
    ten_megabytes_of_nesting_cost_no_more_than_the_limit();
    nesting_at_the_limit_stays_within_the_factor();
    wide_documents_stay_within_the_factor();
}

fn ten_megabytes_of_nesting_cost_no_more_than_the_limit() {
    let depth = 5 * 1024 * 1024;
    let input = ["[".repeat(depth), "]".repeat(depth)].concat();
    let peak = check("10 MB of [[...]]", input.as_bytes(), false);
    // Refused at MAX_DEPTH: the cost is that of MAX_DEPTH levels, not of 5 million.
    let at_limit = ["[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH)].concat();
    assert!(peak <= bound(at_limit.as_bytes()), "peak {peak}");
}

fn nesting_at_the_limit_stays_within_the_factor() {
    let arrays = ["[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH)].concat();
    check("arrays at the limit", arrays.as_bytes(), true);
    let maps = [
        "{\"\":".repeat(MAX_DEPTH - 1),
        "0".into(),
        "}".repeat(MAX_DEPTH - 1),
    ]
    .concat();
    check("maps at the limit", maps.as_bytes(), true);
    let channel = [
        "{\"name\": \"x\", \"x\": ",
        &"[".repeat(MAX_DEPTH - 1),
        &"]".repeat(MAX_DEPTH - 1),
        "}",
    ]
    .concat();
    check(
        "a channel holding the deepest array",
        channel.as_bytes(),
        true,
    );
}

fn wide_documents_stay_within_the_factor() {
    let n = 500_000;
    let numbers = format!("[{}1]", "1,".repeat(n));
    check("an array of 500000 numbers", numbers.as_bytes(), true);
    let empties = format!("[{}[]]", "[],".repeat(n));
    check("an array of 500000 empty arrays", empties.as_bytes(), true);
    let keys = format!("{{{}\"k\":0}}", "\"k\":0,".repeat(n));
    check("a map of 500000 keys", keys.as_bytes(), true);
    let string = format!("\"{}\"", "a".repeat(4 * n));
    check("a 2 MB string", string.as_bytes(), true);
}
