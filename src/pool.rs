//! Pools: which of an account's phones are a pool's members, and what becomes of each. A pool's
//! members are the phones named `NAME-` and a number (`growth-007`); the pool wants `count` of them.
//! With fewer, the lowest free numbers are created (`growth-046 ... growth-050`); with more, the
//! highest numbers are deleted, never one the spec protects or declares by id elsewhere (such a phone
//! still counts as a member). Pure: the listing comes in, declared phones come out.

use std::collections::HashSet;

use crate::spec::{DesiredPhone, Fate, NEW_ID_PREFIX, PowerState, RestartPolicy};

/// What a member's name begins with.
pub fn prefix(pool: &str) -> String {
    format!("{pool}-")
}

/// The member name of number `n`: at least three digits (`growth-007`).
pub fn member_name(pool: &str, n: u32) -> String {
    format!("{pool}-{n:03}")
}

/// The member number a phone named `name` has in `pool`, if it is a member.
pub fn number(pool: &str, name: &str) -> Option<u32> {
    let digits = name.strip_prefix(pool)?.strip_prefix('-')?;
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| *n > 0)
}

/// The pool's phone `id` named `name`, with this fate, declared as the pool (`unlisted`) declares its
/// members: a member to delete only wants to be stopped (and gone), a member to create is named by its
/// create (never renamed). A saved plan's pool phones are bound to the spec through this too.
pub fn member(unlisted: &DesiredPhone, id: &str, name: &str, fate: Fate) -> DesiredPhone {
    let mut d = unlisted.clone();
    d.id = id.to_owned();
    d.name = Some(name.to_owned());
    if let Some(p) = d.pool.as_mut() {
        p.fate = fate;
    }
    match fate {
        Fate::Delete => {
            d.state = Some(PowerState::Stopped);
            d.manage_name = false;
            d.group = None;
            d.tags = None;
            d.remark = None;
            d.proxy = None;
            d.traffic = None;
            d.properties.clear();
            d.restart = RestartPolicy::Never;
        }
        Fate::Create => d.manage_name = false,
        Fate::Member | Fate::Unlisted => {}
    }
    d
}

/// One listed phone: its id and name.
pub type Listed<'a> = (&'a str, &'a str);

/// The declared phones of a pool (`unlisted`, as the spec gives it) once its listing is known: a
/// member for each listed member that stays, one to create (id `new:NAME`) for each missing number,
/// one to delete for each member beyond the count. `elsewhere` are the ids the spec declares by id
/// (`phones`, `groups`): they count as members, but their own declaration is what plans them.
pub fn expand(
    unlisted: &DesiredPhone,
    listed: &[Listed<'_>],
    elsewhere: &HashSet<&str>,
) -> Vec<DesiredPhone> {
    let Some(role) = &unlisted.pool else {
        return vec![unlisted.clone()];
    };
    let mut members: Vec<(u32, &str, &str)> = listed
        .iter()
        .filter_map(|(id, name)| Some((number(&role.pool, name)?, *id, *name)))
        .collect();
    members.sort_unstable();
    let count = role.count as usize;
    let with = |id: &str, name: &str, fate: Fate| member(unlisted, id, name, fate);
    let mut out = Vec::with_capacity(count.max(members.len()));
    if members.len() > count {
        // Highest numbers first, skipping those that may not go.
        let mut extra = members.len() - count;
        let mut going: HashSet<&str> = HashSet::new();
        for (_, id, _) in members.iter().rev() {
            if extra == 0 {
                break;
            }
            if elsewhere.contains(id) || unlisted.protect {
                continue;
            }
            going.insert(id);
            extra -= 1;
        }
        // A protected pool still shows what its count asks for: the highest members, blocked.
        if unlisted.protect {
            going.extend(
                members
                    .iter()
                    .rev()
                    .filter(|(_, id, _)| !elsewhere.contains(id))
                    .take(members.len() - count)
                    .map(|(_, id, _)| *id),
            );
        }
        for (_, id, name) in &members {
            if elsewhere.contains(id) {
                continue;
            }
            if going.contains(id) {
                out.push(with(id, name, Fate::Delete));
            } else {
                out.push(with(id, name, Fate::Member));
            }
        }
        return out;
    }
    let used: HashSet<u32> = members.iter().map(|(n, _, _)| *n).collect();
    for (_, id, name) in &members {
        if !elsewhere.contains(id) {
            out.push(with(id, name, Fate::Member));
        }
    }
    let missing = count - members.len();
    let free = (1..).filter(|n| !used.contains(n)).take(missing);
    for n in free {
        let name = member_name(&role.pool, n);
        out.push(with(&format!("{NEW_ID_PREFIX}{name}"), &name, Fate::Create));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{PoolSpec, PoolTemplate};

    fn pool(count: u32, protect: bool) -> DesiredPhone {
        let spec = PoolSpec {
            name: "growth".into(),
            provider: "gl".into(),
            count,
            template: PoolTemplate {
                mobile_type: "Android 12".into(),
                region: None,
                charge_mode: None,
            },
            settings: crate::spec::PhoneSettings {
                state: Some(PowerState::Running),
                protect,
                ..Default::default()
            },
        };
        spec.unlisted(false)
    }

    fn fates(out: &[DesiredPhone]) -> Vec<(String, Fate)> {
        out.iter()
            .map(|d| (d.name.clone().unwrap(), d.fate().unwrap()))
            .collect()
    }

    #[test]
    fn members_are_named_pool_dash_number() {
        assert_eq!(number("growth", "growth-007"), Some(7));
        assert_eq!(number("growth", "growth-1"), Some(1));
        assert_eq!(number("growth", "growth-0"), None);
        assert_eq!(number("growth", "growth-x"), None);
        assert_eq!(number("growth", "growth-1-002"), None);
        assert_eq!(number("growth", "growthy-002"), None);
        assert_eq!(number("growth", "growth-1234567890"), None);
        assert_eq!(member_name("growth", 46), "growth-046");
        assert_eq!(member_name("growth", 1234), "growth-1234");
    }

    #[test]
    fn missing_members_are_created_at_the_lowest_free_numbers() {
        let listed = [("a", "growth-001"), ("b", "growth-003"), ("c", "other-002")];
        let out = expand(&pool(4, false), &listed, &HashSet::new());
        assert_eq!(
            fates(&out),
            [
                ("growth-001".to_owned(), Fate::Member),
                ("growth-003".to_owned(), Fate::Member),
                ("growth-002".to_owned(), Fate::Create),
                ("growth-004".to_owned(), Fate::Create),
            ]
        );
        assert_eq!(out[2].id, "new:growth-002");
        assert_eq!(
            out[0].labels.get("pool").map(String::as_str),
            Some("growth")
        );
    }

    #[test]
    fn extra_members_go_highest_first_but_never_protected_or_declared_ones() {
        let listed = [
            ("a", "growth-001"),
            ("b", "growth-002"),
            ("c", "growth-003"),
            ("d", "growth-004"),
        ];
        let elsewhere: HashSet<&str> = ["d"].into_iter().collect();
        let out = expand(&pool(2, false), &listed, &elsewhere);
        assert_eq!(
            fates(&out),
            [
                ("growth-001".to_owned(), Fate::Member),
                ("growth-002".to_owned(), Fate::Delete),
                ("growth-003".to_owned(), Fate::Delete),
            ]
        );
        assert_eq!(out[1].state, Some(PowerState::Stopped));
        // A protected pool: the two highest are shown to delete, and the plan blocks them.
        let out = expand(&pool(2, true), &listed, &HashSet::new());
        assert_eq!(
            fates(&out)
                .into_iter()
                .filter(|(_, f)| *f == Fate::Delete)
                .count(),
            2
        );
        assert!(out.iter().all(|d| d.protect));
    }
}
