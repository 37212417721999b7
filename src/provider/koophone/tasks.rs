//! KooPhone tasks: a reset may answer a task id and a job per instance (`data{task_id,
//! cmd_jobs[{instance_id, job_id}]}`, KPDOC BatchReset.html); `GET /v1/instances/tasks/{task_id}`
//! answers `data{jobs[{job_id, status: 1 running | 2 done | -1 failed, error_code, error_msg}]}`
//! (providers.md 10.3). One query per task covers its jobs.

use super::*;
use crate::provider::{PendingJob, PhoneError, Polled};

/// (instance id, task id, job id) of a reset's answer; empty when it names none.
pub(super) fn jobs_of(body: &[u8]) -> Vec<(String, String, String)> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let data = &v["data"];
    let Some(task) = data["task_id"].as_str().filter(|t| !t.is_empty()) else {
        return Vec::new();
    };
    data["cmd_jobs"]
        .as_array()
        .map(|jobs| {
            jobs.iter()
                .filter_map(|j| {
                    Some((
                        crate::redact::text(j["instance_id"].as_str()?),
                        crate::redact::text(task),
                        crate::redact::text(j["job_id"].as_str()?),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Debug, Default, Deserialize)]
struct TaskResponse {
    #[serde(default)]
    data: Option<TaskData>,
}

#[derive(Debug, Default, Deserialize)]
struct TaskData {
    #[serde(default)]
    jobs: Vec<TaskJob>,
}

#[derive(Debug, Deserialize)]
struct TaskJob {
    #[serde(default)]
    job_id: Option<String>,
    #[serde(default)]
    status: Option<i64>,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    error_msg: Option<String>,
}

impl Koophone {
    /// One poll of the tasks the pending jobs belong to: a job that is done or failed finishes; the
    /// others, and those of a task that could not be read, wait for the next poll.
    pub(super) async fn poll(&self, jobs: &[PendingJob]) -> Result<Polled, ProviderError> {
        let mut tasks: std::collections::BTreeMap<&str, Vec<&PendingJob>> = Default::default();
        for j in jobs {
            tasks.entry(j.request_id.as_str()).or_default().push(j);
        }
        let mut out = Polled::default();
        for (task, pending) in tasks {
            let path = format!(
                "/v1/instances/tasks/{}",
                crate::provider::signer::escape(task)
            );
            let call = Call::get(
                &DIALECT,
                self.ctx.url(&path),
                "GET /v1/instances/tasks/{task_id}",
                0,
            );
            let attempt = || self.attempt(&call, super::super::new_uuid(), None);
            let never = |_: u16, _: &[u8]| false;
            let reply = match self.ctx.send(&call, &attempt, &never).await {
                Ok(r) if (200..300).contains(&r.status) => r,
                Ok(r) => {
                    out.failed_poll = Some(format!("task {task}: HTTP {}", r.status));
                    continue;
                }
                Err(e) if e.is_fatal() => return Err(e),
                Err(e) => {
                    out.failed_poll = Some(crate::provider::chain(&e));
                    continue;
                }
            };
            let answer: TaskResponse = serde_json::from_slice(&reply.body).unwrap_or_default();
            let listed = answer.data.map(|d| d.jobs).unwrap_or_default();
            for j in pending {
                let Some(found) = listed
                    .iter()
                    .find(|l| l.job_id.as_deref() == Some(&j.job_id))
                else {
                    continue;
                };
                let result = match found.status {
                    Some(2) => Ok(()),
                    Some(-1) => Err(PhoneError::from_provider(
                        found.error_code.as_deref().unwrap_or("job-failed"),
                        found.error_msg.as_deref().unwrap_or("the reset job failed"),
                    )),
                    _ => continue,
                };
                out.finished.push(((*j).clone(), result));
            }
        }
        Ok(out)
    }
}
