//! "Did you mean ...?": the closest of the allowed words to a misspelled one, by edit distance, when it
//! is close enough to be the likely intent (`stat` -> `state`, `runing` -> `running`, `koophon` ->
//! `koophone`).

/// The candidate closest to `word`, if it is within a third of the word's length (at least 1, at most 3
/// edits) and unambiguous.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    let mut best: Option<(usize, &str)> = None;
    let mut tie = false;
    for c in candidates {
        let d = strsim::levenshtein(&word.to_ascii_lowercase(), &c.to_ascii_lowercase());
        if d == 0 || d > limit {
            continue;
        }
        match best {
            Some((b, _)) if d > b => {}
            Some((b, _)) if d == b => tie = true,
            _ => {
                best = Some((d, c));
                tie = false;
            }
        }
    }
    best.filter(|_| !tie).map(|(_, c)| c)
}

/// `Some("did you mean `x`?")` when a close candidate exists.
pub(super) fn hint<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_words_are_suggested_and_far_ones_not() {
        assert_eq!(closest("stat", ["state", "traffic", "id"]), Some("state"));
        assert_eq!(closest("runing", ["running", "stopped"]), Some("running"));
        assert_eq!(
            closest("koophon", ["huawei-cph", "geelark", "koophone"]),
            Some("koophone")
        );
        assert_eq!(closest("colour", ["state", "traffic"]), None);
        assert_eq!(closest("state", ["state"]), None, "not a misspelling");
    }
}
