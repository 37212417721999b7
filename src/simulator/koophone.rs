//! KooPhone routes: `POST /v1/instances/batch-query-status` (100 ids) and `GET /v1/instances/batch-query`
//! (pages). Unknown ids are left out of `status_results`.

use tokio::time::Instant;

use serde_json::{Value, json};

use super::world::World;
use super::{Req, Resp, SimConfig};
use crate::spec::ProviderKind;

const KIND: ProviderKind = ProviderKind::Koophone;
/// Documented maximum ids per status call (2024 page).
/// Status batch maximum: 32 on the 2024 page, 100 on the 2025 pages (the client sends 32 by default).
const STATUS_MAX: usize = 100;

pub(super) fn status(w: &mut World, req: &Req, now: Instant) -> Resp {
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return Resp::error(400, "KOOPHONE.API.1000", "the request body is not JSON");
    };
    let Some(list) = body.get("instance_ids").and_then(Value::as_array) else {
        return Resp::error(400, "KOOPHONE.API.1000", "instance_ids must be a list");
    };
    if list.is_empty() || list.len() > STATUS_MAX {
        return Resp::error(
            400,
            "KOOPHONE.API.1000",
            &format!(
                "instance_ids: between 1 and {STATUS_MAX} ids, got {}",
                list.len()
            ),
        );
    }
    let mut results = Vec::new();
    for v in list {
        let Some(id) = v.as_str() else {
            return Resp::error(400, "KOOPHONE.API.1000", "instance_ids must hold strings");
        };
        if id.len() > 32 {
            return Resp::error(
                400,
                "KOOPHONE.API.1000",
                "an instance id is longer than 32 characters",
            );
        }
        if let Some(p) = w.phone(KIND, id, now) {
            results.push(json!({ "instance_id": id, "status": p.status }));
        }
    }
    Resp::ok(json!({ "error_code": "0", "error_msg": "OK", "data": { "status_results": results } }))
}

pub(super) fn list(w: &mut World, req: &Req, now: Instant) -> Resp {
    let page_no = req.query("page_no").and_then(|p| p.parse::<usize>().ok());
    let page_size = req.query("page_size").and_then(|p| p.parse::<usize>().ok());
    let (Some(page_no), Some(page_size)) = (page_no, page_size) else {
        return Resp::error(
            400,
            "KOOPHONE.API.1000",
            "page_no and page_size are required",
        );
    };
    if page_no == 0 || !(1..=100).contains(&page_size) {
        return Resp::error(
            400,
            "KOOPHONE.API.1000",
            "page_no must be >= 1 and page_size 1 to 100",
        );
    }
    let order = w
        .order
        .get(&(KIND, String::new()))
        .cloned()
        .unwrap_or_default();
    let result: Vec<Value> = order
        .iter()
        .skip((page_no - 1) * page_size)
        .take(page_size)
        .filter_map(|id| {
            w.phone(KIND, id, now).map(|p| {
                // A fixture's state code shows in the list as its flag (`frozen_status` 1 is frozen).
                let code = p.koophone_code.as_deref();
                // Every field of the Java SDK's `InstanceBatchQueryRspDataResult`, of its type.
                json!({
                    "instance_id": id,
                    "instance_name": p.name.clone().unwrap_or_else(|| format!("instance-{id}")),
                    "region": "cn-north-4",
                    "instance_sku": "sim | 8 cores | 16GB",
                    "frozen_status": i64::from(code == Some("KOOPHONE.API.2004")),
                    "running_status": p.status,
                    "login_status": 0,
                    "assign_status": 0,
                    "assign_user": "",
                    "billing_mode": "",
                    "project_id": "",
                    "project_name": "",
                    "phone_id": "",
                    "member_name": "",
                    "account_name": "",
                    "region_name": "",
                    "region_name_en": "",
                    "backup_status": i64::from(code == Some("KOOPHONE.API.2006")),
                    "backup_time": "",
                    "restore_status": i64::from(code == Some("KOOPHONE.API.2005")),
                    "restore_time": "",
                })
            })
        })
        .collect();
    // As the Java SDK's `ListInstancesResponse` has it: everything, the error fields too, inside `data`.
    Resp::ok(json!({
        "data": {
            "result": result, "page_no": page_no, "page_size": page_size, "total_count": order.len(),
            "error_code": "0", "error_msg": "OK"
        }
    }))
}

/// `POST /v1/instances/reboot` (providers.md 10.3): up to 100 `instance_ids`, all running, else
/// `KOOPHONE.API.5005` for the whole call (HTTP 400); each restarts: 4 (starting), then 2 (running).
pub(super) fn reboot(w: &mut World, cfg: &SimConfig, req: &Req, now: Instant) -> Resp {
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return Resp::error(400, "KOOPHONE.API.1000", "the request body is not JSON");
    };
    let Some(list) = body.get("instance_ids").and_then(Value::as_array) else {
        return Resp::error(400, "KOOPHONE.API.1000", "instance_ids must be a list");
    };
    if list.is_empty() || list.len() > 100 {
        return Resp::error(
            400,
            "KOOPHONE.API.1000",
            "instance_ids: between 1 and 100 ids",
        );
    }
    let ids: Vec<String> = list
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let all_running = ids
        .iter()
        .all(|id| w.phone(KIND, id, now).is_some_and(|p| p.status == 2));
    if ids.len() != list.len() || !all_running {
        return Resp::error(400, "KOOPHONE.API.5005", "not all instances are running");
    }
    for id in &ids {
        if let Some(p) = w.phone(KIND, id, now) {
            p.status = 4;
            p.transition = Some((now + cfg.transition, 2));
        }
    }
    Resp::ok(json!({ "error_code": "0", "error_msg": "OK" }))
}

/// `POST /v1/instances/batch-reset` (providers.md 10.3): up to 100 ids, each at most 32 characters, all
/// known; each instance restarts as a new device (status 4, then running). Answers with a task id and
/// a job per instance, as KPDOC BatchReset.html shows.
pub(super) fn reset(w: &mut World, cfg: &SimConfig, req: &Req, now: Instant) -> Resp {
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return Resp::error(400, "KOOPHONE.API.1000", "the request body is not JSON");
    };
    let Some(list) = body.get("instance_ids").and_then(Value::as_array) else {
        return Resp::error(400, "KOOPHONE.API.1000", "instance_ids must be a list");
    };
    let ids: Vec<String> = list
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    if ids.is_empty()
        || ids.len() > 100
        || ids.len() != list.len()
        || ids.iter().any(|i| i.len() > 32)
    {
        return Resp::error(
            400,
            "KOOPHONE.API.1000",
            "instance_ids: between 1 and 100 ids of at most 32 characters",
        );
    }
    if ids.iter().any(|id| w.phone(KIND, id, now).is_none()) {
        return Resp::error(400, "KOOPHONE.API.1000", "an instance does not exist");
    }
    let task = format!("RM_{}", w.new_id());
    let done_at = now + cfg.transition;
    let mut jobs = Vec::with_capacity(ids.len());
    for id in &ids {
        if let Some(p) = w.phone(KIND, id, now) {
            p.status = 4;
            p.transition = Some((done_at, 2));
            p.resets += 1;
        }
        let job_id = format!("{task}-{}", jobs.len());
        w.jobs.insert(
            job_id.clone(),
            super::world::SimJob {
                job_id: job_id.clone(),
                request_id: task.clone(),
                phone_id: id.clone(),
                begin: super::world::unix_now(),
                done_at,
                fails: None,
            },
        );
        w.jobs_by_request
            .entry(task.clone())
            .or_default()
            .push(job_id.clone());
        jobs.push(json!({ "instance_id": id, "job_id": job_id }));
    }
    Resp::ok(json!({
        "error_code": "0", "error_msg": "OK", "data": { "task_id": task, "cmd_jobs": jobs }
    }))
}

/// `GET /v1/instances/tasks/{task_id}` (providers.md 10.3): the task's jobs, `status` 1 running, 2
/// done; `KOOPHONE.API.1323` for a task it does not know.
pub(super) fn task(w: &mut World, req: &Req, now: Instant) -> Resp {
    let task = req.segs.get(3).cloned().unwrap_or_default();
    let Some(ids) = w.jobs_by_request.get(&task) else {
        return Resp::error(400, "KOOPHONE.API.1323", "the task does not exist");
    };
    let jobs: Vec<Value> = ids
        .iter()
        .filter_map(|id| w.jobs.get(id))
        .map(|j| {
            let done = now >= j.done_at;
            json!({
                "job_id": j.job_id, "status": if done { 2 } else { 1 },
                "error_code": null, "error_msg": null, "execute_msg": ""
            })
        })
        .collect();
    Resp::ok(json!({ "error_code": "0", "error_msg": "OK", "data": { "jobs": jobs } }))
}
