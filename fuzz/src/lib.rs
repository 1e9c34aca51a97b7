//! What knhk's fuzz targets share: the panic policy, the 2 MiB worker stack every
//! target's body runs on, bounded arbitrary JSON, the example specifications, and the
//! check of a specification text that the three reader targets run.
//!
//! Each target is one file in `fuzz_targets/`; `README.md` says what each asserts.

#![forbid(unsafe_code)]

pub mod json;
pub mod specs;

use std::cell::Cell;
use std::collections::BTreeSet;
use std::panic::PanicHookInfo;
use std::sync::{Mutex, Once};

/// The stack of the threads that run a target's body: what tokio gives the server's
/// async workers and its blocking pool (the binary does not change tokio's default).
/// A stack overflow is a finding only if it would happen there, so the body runs on a
/// thread of this size rather than on libFuzzer's main thread (8 MiB).
pub const WORKER_STACK: usize = 2 * 1024 * 1024;

/// Where panics are allowed: the expression library (cel and its ANTLR runtime)
/// panics on some inputs, and `knhk-expr` catches every such panic and turns it into
/// `ExprError::Internal` by design. Any other panic, caught or not, is a crash.
const CAUGHT_BY_DESIGN: &[&str] = &["/cel-0.", "/antlr4rust-0."];

thread_local! {
    /// Set while [`allowing_caught_panics`] runs its work on this thread.
    static ALLOWED: Cell<bool> = const { Cell::new(false) };
}

/// Installs the panic policy (call it from each target's `init`). libfuzzer-sys's own
/// hook aborts on every panic, even one that the code under test catches; this hook
/// aborts on every panic but those in [`CAUGHT_BY_DESIGN`] and those raised within
/// [`allowing_caught_panics`], which it reports once per location on stderr (set
/// `KNHK_FUZZ_STRICT=1` to abort on those too, to collect and minimize them). A panic
/// that the code under test does not catch still aborts: libfuzzer-sys catches it at
/// the target's boundary and aborts.
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let strict = std::env::var_os("KNHK_FUZZ_STRICT").is_some_and(|v| v != "0");
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default();
            let allowed =
                ALLOWED.with(Cell::get) || CAUGHT_BY_DESIGN.iter().any(|c| location.contains(c));
            if !strict && allowed {
                static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
                let first = SEEN
                    .lock()
                    .map(|mut seen| seen.insert(location.clone()))
                    .unwrap_or(false);
                if first {
                    eprintln!("knhk-fuzz: allowed panic (the code under test catches it): {info}");
                }
                return;
            }
            default(info);
            std::process::abort();
        }));
    });
}

/// Runs `work` with panics allowed, for code that catches panics by design (the
/// runtime's recovery quarantines a case whose replay panics, and fails a case whose
/// command panics): such a panic is reported, not a crash, unless it escapes `work`'s
/// own catching, which libfuzzer-sys turns into a crash.
pub fn allowing_caught_panics<T>(work: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            ALLOWED.with(|allowed| allowed.set(self.0));
        }
    }
    let _reset = Reset(ALLOWED.with(|allowed| allowed.replace(true)));
    work()
}

/// Runs `work` on a thread with a [`WORKER_STACK`] stack and returns what it returns; a
/// panic in it goes on in the caller.
pub fn on_worker_stack<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("knhk-fuzz-worker".to_owned())
            .stack_size(WORKER_STACK)
            .spawn_scoped(scope, work);
        let Ok(handle) = handle else {
            // Out of threads or memory: nothing about the code under test.
            std::process::abort();
        };
        match handle.join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}
