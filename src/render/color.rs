//! Named colors, decided once (`use_color` comes from the settings): callers say what a piece of text
//! is (an addition, a removal, a warning), not which escape code it gets.

/// Paints text when colors are on; passes it through otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Color {
    on: bool,
}

impl Color {
    /// Colors on or off.
    pub fn new(on: bool) -> Color {
        Color { on }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }

    /// Added lines.
    pub fn create(&self, s: &str) -> String {
        self.paint("32", s)
    }
    /// Removed lines.
    pub fn delete(&self, s: &str) -> String {
        self.paint("31", s)
    }
    /// Changed things.
    pub fn update(&self, s: &str) -> String {
        self.paint("33", s)
    }
    /// Blocked or warning.
    pub fn warn(&self, s: &str) -> String {
        self.paint("35", s)
    }
    /// Headings.
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    /// Context.
    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
}
