//! Fitting text to a width: long lines wrapped at spaces under a hanging indent, and id lists wrapped
//! and capped ("... and 412 more (see --json, or --full)"), so that a plan of thousands of phones stays
//! readable and no line runs off the screen.

/// How text output is laid out.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Colors.
    pub color: super::color::Color,
    /// Columns to fit (the terminal's width, or [`PIPED_WIDTH`] when not a terminal).
    pub width: usize,
    /// List every id instead of capping the lists (`--full`, `-v`).
    pub full: bool,
}

/// The width when the output is not a terminal.
pub const PIPED_WIDTH: usize = 100;

/// Lines of ids one folded block shows before "... and N more".
pub const ID_LINES: usize = 3;

impl Layout {
    /// Plain text at the piped width, lists capped.
    pub fn plain() -> Layout {
        Layout {
            color: super::color::Color::new(false),
            width: PIPED_WIDTH,
            full: false,
        }
    }
}

/// `text` wrapped at spaces to `width` columns: the first line starts with `first`, the others with
/// `rest`. A word longer than a line is cut where the line ends.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> String {
    let mut out = String::new();
    let mut line = first.to_owned();
    let mut fresh = true;
    let width = width.max(first.len().max(rest.len()) + 20);
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let needed = if fresh { word.len() } else { word.len() + 1 };
        if !fresh && line.chars().count() + needed > width {
            out.push_str(&line);
            out.push('\n');
            line = rest.to_owned();
            fresh = true;
        }
        let mut word = word;
        // A word that cannot fit on any line (a URL in an error) is cut into line-sized pieces.
        while line.chars().count() + word.chars().count() + usize::from(!fresh) > width {
            let room = width.saturating_sub(line.chars().count() + usize::from(!fresh));
            let cut = word
                .char_indices()
                .nth(room.max(1))
                .map_or(word.len(), |(i, _)| i);
            if !fresh {
                line.push(' ');
            }
            line.push_str(&word[..cut]);
            out.push_str(&line);
            out.push('\n');
            line = rest.to_owned();
            fresh = true;
            word = &word[cut..];
            if word.is_empty() {
                break;
            }
        }
        if word.is_empty() {
            continue;
        }
        if !fresh {
            line.push(' ');
        }
        line.push_str(word);
        fresh = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// `ids` as comma-separated lines under `label`, at most [`ID_LINES`] lines unless `layout.full`.
pub fn id_list(ids: &[&str], layout: Layout, label: &str) -> String {
    let indent = " ".repeat(label.len());
    let mut lines: Vec<String> = Vec::new();
    let mut line = label.to_owned();
    let mut shown = 0;
    for (i, id) in ids.iter().enumerate() {
        let piece = if i + 1 < ids.len() {
            format!("{id},")
        } else {
            (*id).to_owned()
        };
        let fresh = line.len() == indent.len();
        if !fresh && line.chars().count() + 1 + piece.len() > layout.width {
            lines.push(std::mem::replace(&mut line, indent.clone()));
            if !layout.full && lines.len() == ID_LINES {
                break;
            }
        }
        if line.len() != indent.len() {
            line.push(' ');
        }
        line.push_str(&piece);
        shown += 1;
    }
    if line.len() != indent.len() && (layout.full || lines.len() < ID_LINES) {
        lines.push(line);
    }
    let mut out = lines.join("\n");
    out.push('\n');
    if shown < ids.len() {
        out = out.trim_end_matches('\n').trim_end_matches(',').to_owned();
        out.push('\n');
        out.push_str(&format!(
            "{indent}... and {} more (see --json, or --full)\n",
            ids.len() - shown
        ));
    }
    out
}

/// Items grouped by (provider, reason), groups in the order their first item came.
pub fn by_reason<'a, T>(
    items: impl IntoIterator<Item = (&'a str, &'a str, T)>,
) -> Vec<(&'a str, &'a str, Vec<T>)> {
    let mut out: Vec<(&str, &str, Vec<T>)> = Vec::new();
    let mut index: std::collections::BTreeMap<(&str, &str), usize> = Default::default();
    for (provider, reason, item) in items {
        match index.get(&(provider, reason)) {
            Some(&i) => out[i].2.push(item),
            None => {
                index.insert((provider, reason), out.len());
                out.push((provider, reason, vec![item]));
            }
        }
    }
    out
}

/// A per-phone message made comparable with its neighbours', for folding: the phone's own id becomes
/// `<phone>`, and long id-like tokens (job ids, request ids) become `<id>`, so that 500 phones failing
/// the same way fold into one line instead of 500.
pub fn normalise(message: &str, phone_id: &str) -> String {
    let replaced = if phone_id.len() >= 2 {
        message.replace(phone_id, "<phone>")
    } else {
        message.to_owned()
    };
    // How many retries a phone's read took differs from phone to phone: "after N retries" is said once.
    let words: Vec<&str> = replaced.split(' ').collect();
    let mut kept: Vec<&str> = Vec::with_capacity(words.len());
    for (i, w) in words.iter().enumerate() {
        let count = !w.is_empty() && w.chars().all(|c| c.is_ascii_digit());
        let retries = words.get(i + 1).is_some_and(|n| n.starts_with("retr"));
        if count && retries && i > 0 && words[i - 1] == "after" {
            continue;
        }
        kept.push(w);
    }
    let replaced = kept
        .iter()
        .map(|w| match *w {
            "retry" | "retry," | "retry;" | "retry)" => w.replacen("retry", "retries", 1),
            _ => (*w).to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ");
    replaced
        .split(' ')
        .map(|word| {
            let core = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
            let id_like = core.len() >= 12
                && core.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && core.chars().any(|c| c.is_ascii_digit());
            if id_like {
                word.replace(core, "<id>")
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Phones that share a reason: `! provider / who: reason` (wrapped, in the warning color), then their
/// ids when there are several. `who` is the one phone's label, or "N phones".
pub fn reason_block(
    provider: &str,
    who: &str,
    reason: &str,
    ids: &[&str],
    layout: Layout,
) -> String {
    let line = wrap(
        &format!("{provider} / {who}: {reason}"),
        layout.width,
        "! ",
        "    ",
    );
    let mut out = layout.color.warn(line.trim_end());
    out.push('\n');
    if ids.len() > 1 {
        out.push_str(&id_list(ids, layout, "  ids: "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_fold_across_phones() {
        let a = normalise(
            "GET http://127.0.0.1:1/v1/p1/cloud-phone/phones/c0001: HTTP 500 (request 8f3e2a91b0c44d55)",
            "c0001",
        );
        let b = normalise(
            "GET http://127.0.0.1:1/v1/p1/cloud-phone/phones/c0002: HTTP 500 (request 1a2b3c4d5e6f7a8b)",
            "c0002",
        );
        assert_eq!(a, b);
        assert_eq!(
            a,
            "GET http://127.0.0.1:1/v1/p1/cloud-phone/phones/<phone>: HTTP 500 (request <id>)"
        );
        assert_eq!(
            normalise("someone is connected", "g1"),
            "someone is connected"
        );
    }

    #[test]
    fn long_text_wraps_under_a_hanging_indent() {
        let text = "could not read: provider `cph`: call failed: GET http://127.0.0.1:1/v1/p1/cloud-phone/phones/c1: HTTP 500";
        let out = wrap(text, 50, "! ", "    ");
        assert!(out.lines().all(|l| l.chars().count() <= 50), "{out}");
        assert!(out.starts_with("! could not read"));
        assert!(out.lines().skip(1).all(|l| l.starts_with("    ")), "{out}");
        assert_eq!(
            out.split_whitespace().collect::<String>(),
            format!("!{text}").split_whitespace().collect::<String>()
        );
    }

    #[test]
    fn id_lists_wrap_and_cap() {
        let ids: Vec<String> = (0..200).map(|i| format!("phone{i:03}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let out = id_list(&ids, Layout::plain(), "  ids: ");
        assert_eq!(out.lines().count(), ID_LINES + 1, "{out}");
        assert!(out.lines().all(|l| l.len() <= PIPED_WIDTH), "{out}");
        let last = out.lines().last().unwrap();
        assert!(last.trim_start().starts_with("... and "), "{out}");
        let shown = out.matches("phone").count();
        assert!(last.contains(&format!("and {} more", 200 - shown)), "{out}");
        let full = id_list(
            &ids,
            Layout {
                full: true,
                ..Layout::plain()
            },
            "  ids: ",
        );
        assert_eq!(full.matches("phone").count(), 200);
        assert!(!full.contains("more"));
        assert_eq!(
            id_list(&["a", "b"], Layout::plain(), "  ids: "),
            "  ids: a, b\n"
        );
    }
}
