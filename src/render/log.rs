//! `-v` call logs: `tracing` events of the `phonefleet` crate, written to stderr through the progress
//! bars (each line printed above them, never across them), secrets and sensitive values masked like
//! any other output.

use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;

/// Send `-v` logs (info and above of this crate) to stderr, through the bars. Set once, by the
/// binary; a second call (tests of the library) changes nothing.
pub fn init(verbose: u8) {
    if verbose == 0 {
        return;
    }
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .without_time()
        .with_level(false)
        .with_target(false)
        .with_ansi(false)
        .with_writer(ThroughBars)
        .finish();
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Makes a [`Line`] per event.
#[derive(Debug, Clone, Copy)]
struct ThroughBars;

impl<'a> MakeWriter<'a> for ThroughBars {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line(Vec::new())
    }
}

/// One event's text, printed when the event is written out: masked, prefixed `phonefleet: `, above
/// the bars.
#[derive(Debug)]
struct Line(Vec<u8>);

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let text = text.trim_end();
        if text.is_empty() {
            return;
        }
        let line = format!("phonefleet: {}\n", crate::redact::text(text));
        super::progress::terminal().suspend(|| {
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        });
    }
}
