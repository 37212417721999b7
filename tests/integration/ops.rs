//! The ops layer in process, against the simulator on 127.0.0.1 in the same runtime on tokio's paused
//! clock: plan and apply as values (no binary, no rendering). Backoff and convergence polls pass on
//! the virtual clock; the retry policy's waits are fifty times shorter than the real ones, so that a
//! read tries as often within its budget as the fault rates here (40% errors) need.

use std::collections::BTreeSet;
use std::time::Duration;
use tokio::time::Instant;

use phonefleet::apply::{ApplyReport, Cancel, Options, Outcome};
use phonefleet::capability::Overrides;
use phonefleet::ops::fleet::{Fleet, Quiet, Reach};
use phonefleet::ops::plan::{Count, Scope};
use phonefleet::plan::Plan;
use phonefleet::provider::Http;
use phonefleet::provider::retry::Policy;
use phonefleet::simulator::SimConfig;
use phonefleet::spec::LoadedSpec;

use crate::support::{Sim, providers};

/// Plan and apply, in process, against one simulator.
struct Ops<'a> {
    sim: &'a Sim,
    spec: LoadedSpec,
    /// The account locks' folder, this test's own.
    locks: tempfile::TempDir,
}

impl<'a> Ops<'a> {
    fn new(sim: &'a Sim, phones: &str) -> Ops<'a> {
        let text = format!("{}{phones}", providers(&sim.url()));
        let spec =
            phonefleet::spec::load_str("spec.yaml", text.as_bytes()).expect("the spec loads");
        Ops {
            sim,
            spec,
            locks: tempfile::tempdir().unwrap(),
        }
    }

    async fn fleet(&self, scope: &Scope) -> Fleet {
        let deadline = Instant::now() + Duration::from_secs(120);
        let http = Http::new(false, deadline)
            .unwrap()
            .with_policy(Policy::scaled(0.02));
        Fleet::open_with(
            &scope.providers,
            &scope.desired,
            &scope.limits,
            Reach::Simulator(self.sim.url()),
            http,
        )
        .await
        .expect("the fleet opens")
    }

    /// One reconcile tick healing `heal`.
    fn tick(&self, heal: &[&str]) -> phonefleet::ops::reconcile::Tick {
        self.sim.block_on(async {
            let scope = Scope::of(&self.spec, &Default::default(), Overrides::default()).unwrap();
            let fleet = self.fleet(&scope).await;
            let opts = Options {
                deadline: Instant::now() + Duration::from_secs(60),
                progress: std::sync::Arc::new(phonefleet::apply::NoProgress),
                cancel: Cancel::default(),
            };
            let heal: BTreeSet<&str> = heal.iter().copied().collect();
            let all = |_: &phonefleet::plan::PhoneChange| true;
            let acquire = |p: &phonefleet::plan::Plan| {
                let providers = phonefleet::select::in_scope(
                    &self.spec.spec.providers,
                    &p.changes
                        .iter()
                        .map(|c| c.desired.clone())
                        .collect::<Vec<_>>(),
                );
                phonefleet::ops::lock::acquire_now(self.locks.path(), &providers, true, "test tick")
            };
            let heal = phonefleet::ops::reconcile::Heal {
                actions: &heal,
                may_heal: &all,
                acquire: &acquire,
            };
            let at = phonefleet::ops::plan::wall_now();
            phonefleet::ops::reconcile::tick(&self.spec, &scope, &fleet, &heal, &opts, at, &Quiet)
                .await
        })
    }

    /// `plan`: the plan of every declared phone.
    fn plan(&self) -> Plan {
        self.sim.block_on(async {
            let scope = Scope::of(&self.spec, &Default::default(), Overrides::default()).unwrap();
            let fleet = self.fleet(&scope).await;
            let planned = phonefleet::ops::plan::plan(
                &self.spec,
                &scope,
                &fleet,
                Count::No,
                Default::default(),
                &Quiet,
            )
            .await;
            planned.plan
        })
    }

    /// `apply --auto-approve --max-batch N`: the plan made and applied in one go.
    fn apply(&self, max_batch: usize) -> (Plan, ApplyReport) {
        self.sim.block_on(async {
            let overrides = Overrides {
                max_batch: Some(max_batch),
                parallelism: None,
            };
            let scope = Scope::of(&self.spec, &Default::default(), overrides).unwrap();
            let fleet = self.fleet(&scope).await;
            let planned = phonefleet::ops::plan::plan(
                &self.spec,
                &scope,
                &fleet,
                Count::No,
                Default::default(),
                &Quiet,
            )
            .await;
            let opts = Options {
                deadline: Instant::now() + Duration::from_secs(120),
                progress: std::sync::Arc::new(phonefleet::apply::NoProgress),
                cancel: Cancel::default(),
            };
            let report = phonefleet::apply::execute(&planned.plan, &fleet.clients, &opts).await;
            (planned.plan, report)
        })
    }
}

fn to_change(plan: &Plan) -> BTreeSet<(String, String)> {
    plan.changes
        .iter()
        .filter(|c| !c.actions.is_empty())
        .map(|c| (c.provider.clone(), c.phone_id.clone()))
        .collect()
}

/// Every report line is a planned (phone, action) or a phone its own read could not read; every
/// failure says why.
fn check_report(plan: &Plan, report: &ApplyReport) {
    let planned: BTreeSet<(String, String)> = plan
        .changes
        .iter()
        .map(|c| (c.provider.clone(), c.phone_id.clone()))
        .collect();
    for r in &report.results {
        assert!(
            planned.contains(&(r.provider.clone(), r.phone_id.clone())),
            "reported outside the plan: {r:?}"
        );
        match &r.outcome {
            Outcome::Ok => assert!(r.action.is_some(), "{r:?}"),
            Outcome::Failed(e) => assert!(!e.code.is_empty() && !e.message.is_empty(), "{r:?}"),
            Outcome::Skipped(why) | Outcome::Blocked(why) => assert!(!why.is_empty(), "{r:?}"),
        }
    }
    // Every planned action is in the report.
    for c in plan.changes.iter().filter(|c| !c.actions.is_empty()) {
        for a in &c.actions {
            assert!(
                report
                    .results
                    .iter()
                    .any(|r| r.phone_id == c.phone_id && r.action.as_ref() == Some(a)),
                "{} {a:?} is not reported",
                c.phone_id
            );
        }
    }
}

/// Converge within `rounds` applies, every report complete; returns how many applies it took.
fn converge(ops: &Ops<'_>, rounds: usize, max_batch: usize) -> usize {
    let mut last = None;
    for round in 1..=rounds {
        let (plan, report) = ops.apply(max_batch);
        if to_change(&plan).is_empty() && plan.summary.blocked == 0 {
            return round - 1;
        }
        check_report(&plan, &report);
        last = Some(report);
    }
    let left = ops.plan();
    let failed: Vec<_> = last
        .iter()
        .flat_map(|r| r.results.iter())
        .filter(|r| r.outcome != Outcome::Ok)
        .collect();
    assert!(
        to_change(&left).is_empty(),
        "not converged within {rounds} applies: {:?}\nthe last apply's failures: {failed:?}",
        to_change(&left)
    );
    rounds
}

fn mixed_fleet(n: usize, cph_extra: &str) -> (String, String) {
    let mut fixture = String::from("phones:\n");
    let mut phones = String::from("phones:\n");
    for i in 0..n {
        fixture.push_str(&format!(
            "  - {{provider: huawei-cph, id: c{i:02}, project_id: p1, status: running, traffic: direct, properties: {{k: old}}}}\n"
        ));
        phones.push_str(&format!(
            "  - {{id: c{i:02}, provider: cph, state: stopped, properties: {{k: v{i}}}{cph_extra}}}\n"
        ));
        fixture.push_str(&format!(
            "  - {{provider: geelark, id: g{i:02}, status: stopped}}\n"
        ));
        phones.push_str(&format!(
            "  - {{id: g{i:02}, provider: gl, state: running}}\n"
        ));
    }
    (fixture, phones)
}

#[test]
fn heavy_faults_converge_within_four_applies_with_every_phone_reported() {
    let (fixture, phones) = mixed_fleet(24, "");
    let sim = Sim::paused(
        &fixture,
        SimConfig {
            error_rate: 0.4,
            throttle_rate: 0.2,
            seed: 7,
            transition: Duration::from_millis(100),
            ..SimConfig::default()
        },
    );
    let ops = Ops::new(&sim, &phones);
    converge(&ops, 4, 200);
}

#[test]
fn faults_converge_within_three_applies_with_every_phone_reported() {
    let (fixture, phones) = mixed_fleet(60, ", traffic: routing");
    let sim = Sim::paused(
        &fixture,
        SimConfig {
            error_rate: 0.2,
            throttle_rate: 0.1,
            seed: 42,
            transition: Duration::from_millis(100),
            ..SimConfig::default()
        },
    );
    let ops = Ops::new(&sim, &phones);
    converge(&ops, 3, 20);
    let phones = sim.phones();
    assert!(
        phones
            .values()
            .filter(|p| p["id"].as_str().unwrap().starts_with('c'))
            .all(|p| p["traffic"] == "routing"),
        "{phones:?}"
    );
}

#[test]
fn a_clean_fleet_plans_nothing_and_an_apply_reports_every_action_ok() {
    let (fixture, phones) = mixed_fleet(5, "");
    let sim = Sim::paused(
        &fixture,
        SimConfig {
            transition: Duration::from_millis(150),
            ..SimConfig::default()
        },
    );
    let ops = Ops::new(&sim, &phones);
    let plan = ops.plan();
    assert_eq!(to_change(&plan).len(), 10);
    assert_eq!(plan.summary.of(phonefleet::plan::ActionKind::Stop), 5);
    assert_eq!(plan.summary.of(phonefleet::plan::ActionKind::Start), 5);
    assert_eq!(
        plan.summary.of(phonefleet::plan::ActionKind::SetProperties),
        5
    );
    let (_, report) = ops.apply(100);
    let counts = report.counts();
    assert_eq!(
        (counts.ok, counts.failed, counts.skipped),
        (15, 0, 0),
        "{report:?}"
    );
    assert!(to_change(&ops.plan()).is_empty());
}

#[test]
fn a_tick_heals_only_what_its_policy_names_and_reports_the_rest() {
    let (fixture, phones) = mixed_fleet(3, "");
    let sim = Sim::paused(
        &fixture,
        SimConfig {
            transition: Duration::from_millis(150),
            ..SimConfig::default()
        },
    );
    let ops = Ops::new(&sim, &phones);
    // Observe only: nothing is sent, everything is reported.
    let tick = ops.tick(&[]);
    assert!(tick.healed.is_none() && tick.refused.is_none());
    assert_eq!(to_change(&tick.planned.plan).len(), 6);
    assert_eq!(sim.mutating_calls(), 0);
    // Heal starts only: the GeeLark phones start; the CPH stops and properties stay reported.
    let tick = ops.tick(&["start"]);
    let report = tick.healed.expect("healed");
    assert_eq!(report.counts().ok, 3, "{report:?}");
    assert!(report.results.iter().all(|r| r.provider == "gl"));
    let after = ops.plan();
    assert_eq!(after.summary.of(phonefleet::plan::ActionKind::Start), 0);
    assert_eq!(after.summary.of(phonefleet::plan::ActionKind::Stop), 3);
    assert_eq!(
        after
            .summary
            .of(phonefleet::plan::ActionKind::SetProperties),
        3
    );
    // A second tick with the same policy has nothing to heal.
    let again = ops.tick(&["start"]);
    assert!(again.healed.is_none(), "{:?}", again.healed);
    assert_eq!(
        to_change(&again.planned.plan).len(),
        3,
        "the CPH drift is still reported"
    );
}

#[test]
fn a_tick_whose_heals_break_a_guard_heals_nothing() {
    let (fixture, phones) = mixed_fleet(3, "");
    let sim = Sim::paused(
        &fixture,
        SimConfig {
            transition: Duration::from_millis(150),
            ..SimConfig::default()
        },
    );
    let mut ops = Ops::new(&sim, &phones);
    let text = format!(
        "{}{phones}safety:\n  max_changes: 2\n",
        providers(&sim.url())
    );
    ops.spec = phonefleet::spec::load_str("spec.yaml", text.as_bytes()).unwrap();
    let tick = ops.tick(&["start", "stop", "set_properties"]);
    assert!(tick.healed.is_none());
    let refused = tick.refused.expect("refused").to_string();
    assert!(refused.contains("max_changes"), "{refused}");
    assert_eq!(sim.mutating_calls(), 0);
}

#[test]
fn under_heavy_faults_reads_are_patient_and_two_applies_clean_the_fleet() {
    // 300 CPH phones (150 with properties) and 200 GeeLark phones; 40% of answers 5xx, 20% throttled.
    let mut fixture = String::from("phones:\n");
    let mut phones = String::from("phones:\n");
    for i in 0..300 {
        let props = if i % 2 == 0 {
            ", properties: {k: old}"
        } else {
            ""
        };
        fixture.push_str(&format!(
            "  - {{provider: huawei-cph, id: c{i:03}, project_id: p1, status: running, traffic: direct{props}}}\n"
        ));
        let want = if i % 2 == 0 {
            ", properties: {k: new}"
        } else {
            ""
        };
        phones.push_str(&format!(
            "  - {{id: c{i:03}, provider: cph, traffic: routing{want}}}\n"
        ));
    }
    for i in 0..200 {
        fixture.push_str(&format!(
            "  - {{provider: geelark, id: g{i:03}, status: running}}\n"
        ));
        phones.push_str(&format!(
            "  - {{id: g{i:03}, provider: gl, state: stopped}}\n"
        ));
    }
    // "Nearly every run": three runs (three fault seeds); each reads every phone, each is clean within
    // three applies, and at least two of them within two.
    let mut within_two = 0;
    for seed in [11, 12, 13] {
        let sim = Sim::paused(
            &fixture,
            SimConfig {
                error_rate: 0.4,
                throttle_rate: 0.2,
                seed,
                transition: Duration::from_millis(50),
                ..SimConfig::default()
            },
        );
        let ops = Ops::new(&sim, &phones);
        // Throttled answers do not spend the error budget: every phone is read.
        let plan = ops.plan();
        assert_eq!(
            plan.summary.unreadable, 0,
            "seed {seed}: {:?}",
            plan.summary.failed_providers
        );
        assert_eq!(to_change(&plan).len(), 500);
        if converge(&ops, 3, 100) <= 2 {
            within_two += 1;
        }
    }
    assert!(
        within_two >= 2,
        "clean within two applies in {within_two} of 3 runs"
    );
}

/// `watch.heal: [restart]`: a phone in a failed state is restarted (never reset); without `restart`
/// in the policy it stays blocked, needing a person.
#[test]
fn a_tick_restarts_a_failed_phone_only_when_restart_may_be_healed() {
    let sim = Sim::paused(
        "phones:\n  - {provider: huawei-cph, id: c1, project_id: p1, status: -7}\n  - {provider: geelark, id: g1, status: 3}\n",
        SimConfig {
            transition: Duration::from_millis(150),
            ..SimConfig::default()
        },
    );
    let ops = Ops::new(
        &sim,
        "phones:\n  - {id: c1, provider: cph, state: running}\n  - {id: g1, provider: gl, state: running}\n",
    );
    let tick = ops.tick(&["start"]);
    assert!(tick.healed.is_none());
    let blocked: Vec<&str> = tick
        .planned
        .plan
        .changes
        .iter()
        .filter(|c| c.blocked.is_some())
        .map(|c| c.phone_id.as_str())
        .collect();
    assert_eq!(blocked, ["c1", "g1"], "failed phones need a person");
    let tick = ops.tick(&["restart"]);
    let report = tick.healed.expect("healed");
    let restarted: Vec<(&str, Option<phonefleet::plan::Action>)> = report
        .results
        .iter()
        .map(|r| (r.phone_id.as_str(), r.action))
        .collect();
    assert_eq!(
        restarted,
        [("c1", Some(phonefleet::plan::Action::Restart))],
        "an expired geelark phone needs a person, not a restart: it stays blocked"
    );
    assert_eq!(report.counts().ok, 1, "{report:?}");
    assert_eq!(sim.phones()["c1"]["status"], 2, "running again");
    assert!(
        sim.phones()["c1"].get("resets").is_none(),
        "restarted, not reset"
    );
}
