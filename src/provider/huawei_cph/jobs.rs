//! CPH changes and their jobs: one batch call per action (batch-stop, batch-restart, phones-traffic,
//! batch-update-property), each answering one job per phone (or that phone's error inside `jobs[]`), and
//! the job queries that finish them (`GET .../jobs?request_ids=`, 20 request ids a call, pages of 100).

use super::*;

/// Jobs per job query page (documented maximum of `limit`).
const JOB_PAGE: usize = 100;

#[derive(Debug, Deserialize)]
struct JobsResponse {
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    jobs: Vec<PhoneJob>,
}

#[derive(Debug, Deserialize)]
struct PhoneJob {
    #[serde(default)]
    phone_id: Option<String>,
    #[serde(default)]
    job_id: Option<String>,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    error_msg: Option<String>,
}

#[derive(Debug, Deserialize)]
struct JobListResponse {
    #[serde(default)]
    jobs: Vec<JobStatus>,
}

#[derive(Debug, Deserialize)]
struct JobStatus {
    job_id: String,
    /// The phone the job is for, when the answer says (checked against the phone it was sent for).
    #[serde(default)]
    phone_id: Option<String>,
    status: i64,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    error_msg: Option<String>,
}

impl HuaweiCph {
    /// Send one batch call.
    pub(in crate::provider) async fn submit(
        &self,
        batch: &Batch,
    ) -> Result<crate::provider::BatchResults, ProviderError> {
        let ids: Vec<&str> = batch.ids().collect();
        let (route, rest, body) = match &batch.action {
            Action::Rename => return self.rename(batch).await,
            // The capability table offers CPH no GeeLark details: never sent here.
            Action::SetGroup
            | Action::SetTags
            | Action::SetRemark
            | Action::SetProxy
            | Action::Create
            | Action::Delete => {
                return Ok(crate::provider::unsupported(ProviderKind::HuaweiCph, batch));
            }
            Action::Stop => (
                "POST /v1/{project_id}/cloud-phone/phones/batch-stop",
                "phones/batch-stop",
                json!({ "phone_ids": ids }),
            ),
            // batch-restart powers on a stopped phone and restarts a running one; a restart carries
            // the phone's new properties in the same call and job (`property`, documented on
            // batch-restart), so that the two cannot be separated by an interruption.
            Action::Start | Action::Restart => {
                let phones: Vec<serde_json::Value> = batch
                    .phones
                    .iter()
                    .map(|p| {
                        if p.properties.is_empty() {
                            json!({ "phone_id": p.id })
                        } else {
                            let property = serde_json::to_string(&p.properties)
                                .expect("a string map serializes");
                            json!({ "phone_id": p.id, "property": property })
                        }
                    })
                    .collect();
                (
                    "POST /v1/{project_id}/cloud-phone/phones/batch-restart",
                    "phones/batch-restart",
                    json!({ "phones": phones }),
                )
            }
            // A reset clears the phone's data; the image it is reset onto, when one is declared, is the
            // call's (phones bound for one image share a call).
            Action::Reset => {
                let phones: Vec<serde_json::Value> = batch
                    .phones
                    .iter()
                    .map(|p| json!({ "phone_id": p.id }))
                    .collect();
                let mut body = json!({ "phones": phones });
                if let Some(image) = batch.phones.first().and_then(|p| p.set.get("image")) {
                    body["image_id"] = image.clone();
                }
                (
                    "POST /v1/{project_id}/cloud-phone/phones/batch-reset",
                    "phones/batch-reset",
                    body,
                )
            }
            Action::SetTraffic(t) => (
                "POST /v1/{project_id}/cloud-phone/phones-traffic",
                "phones-traffic",
                json!({ "traffic_type": t.as_str(), "phone_ids": ids }),
            ),
            // A restart pending is kept with the phone in `custom_property` (a map of strings, set
            // beside `property` in the same call); clearing it writes the mark alone, with `property`
            // (required by the call) an empty object.
            Action::SetProperties | Action::ClearRestartPending => {
                let mut phones = Vec::with_capacity(batch.phones.len());
                for p in &batch.phones {
                    // `property` is a string holding a JSON object, made by serde, never by hand.
                    let property =
                        serde_json::to_string(&p.properties).expect("a string map serializes");
                    let mut phone = json!({ "phone_id": p.id, "property": property });
                    if !p.marks.is_empty() {
                        phone["custom_property"] = json!(p.marks);
                    }
                    phones.push(phone);
                }
                (
                    "POST /v1/{project_id}/cloud-phone/phones/batch-update-property",
                    "phones/batch-update-property",
                    json!({ "phones": phones }),
                )
            }
        };
        let call = Call {
            dialect: &DIALECT,
            method: Method::POST,
            url: self.ctx.url(&self.path(rest)),
            route,
            ids: ids.len(),
            mutating: true,
        };
        let body = serde_json::to_vec(&body).expect("a JSON value serializes");
        let reply = self.call(call.clone(), Some(body)).await?;
        let resp: JobsResponse = self.decode(&call, &reply)?;
        let request_id = resp.request_id.unwrap_or_default();
        // How many jobs the request made: ListJobs lists them all and gives no count.
        let request_size = resp
            .jobs
            .iter()
            .filter(|j| j.job_id.as_deref().is_some_and(|id| !id.is_empty()))
            .count();
        // A phone answered twice cannot tell its outcome: neither answer is taken. A job id shared by
        // two phones is kept for both: the job query tells their outcomes apart by `phone_id`.
        let mut by_phone: HashMap<String, Option<PhoneJob>> = HashMap::new();
        for job in resp.jobs {
            if let Some(id) = job.phone_id.clone() {
                let twice = by_phone.contains_key(&id);
                by_phone.insert(id, (!twice).then_some(job));
            }
        }
        Ok(ids
            .iter()
            .map(|id| {
                let result = match by_phone.remove(*id) {
                    Some(None) => Err(PhoneError {
                        code: "ambiguous-job".into(),
                        message: "the provider answered for this phone twice, so its outcome is \
                                  unknown; run plan to see its state"
                            .into(),
                    }),
                    Some(Some(job)) => Self::accepted(id, job, &request_id, request_size),
                    None => Err(PhoneError {
                        code: "no-job".into(),
                        message: "the provider answered without a job for this phone".into(),
                    }),
                };
                ((*id).to_owned(), result)
            })
            .collect())
    }

    /// One phone's answer in a batch call: its error, or its job.
    fn accepted(
        id: &str,
        job: PhoneJob,
        request_id: &str,
        request_size: usize,
    ) -> Result<Accepted, PhoneError> {
        match job {
            PhoneJob {
                error_code: Some(code),
                error_msg,
                ..
            } if !code.is_empty() => Err(PhoneError::from_provider(
                &code,
                error_msg.as_deref().unwrap_or_default(),
            )),
            PhoneJob {
                job_id: Some(job_id),
                ..
            } if !job_id.is_empty() => Ok(Accepted::Job(PendingJob {
                phone_id: id.to_owned(),
                request_id: request_id.to_owned(),
                job_id,
                request_size,
            })),
            _ => Err(PhoneError {
                code: "no-job".into(),
                message: "the provider answered without a job for this phone".into(),
            }),
        }
    }

    async fn job_page(
        &self,
        request_ids: &[&str],
        offset: usize,
    ) -> Result<Vec<JobStatus>, ProviderError> {
        let path = format!(
            "{}?request_ids={}&offset={offset}&limit={JOB_PAGE}",
            self.path("jobs"),
            request_ids.join(",")
        );
        let call = Call::get(
            &DIALECT,
            self.ctx.url(&path),
            "GET /v1/{project_id}/cloud-phone/jobs",
            request_ids.len(),
        );
        let reply = self.call(call.clone(), None).await?;
        let resp: JobListResponse = self.decode(&call, &reply)?;
        Ok(resp.jobs)
    }

    /// Every job of these requests. Their number is known (`expected`), so all pages are asked for at
    /// once rather than one after another; a full last page is followed up in case more are listed.
    async fn jobs_of(
        &self,
        request_ids: &[&str],
        expected: usize,
    ) -> Result<Vec<JobStatus>, ProviderError> {
        let pages = expected.div_ceil(JOB_PAGE).max(1);
        let answers: Vec<Result<Vec<JobStatus>, ProviderError>> = stream::iter(0..pages)
            .map(|p| self.job_page(request_ids, p * JOB_PAGE))
            .buffered(self.ctx.limits.concurrency)
            .collect()
            .await;
        let mut all = Vec::with_capacity(expected);
        let mut last = 0;
        for a in answers {
            let page = a?;
            last = page.len();
            all.extend(page);
        }
        let mut offset = pages * JOB_PAGE;
        while last == JOB_PAGE && all.len() < expected {
            let page = self.job_page(request_ids, offset).await?;
            last = page.len();
            offset += last;
            all.extend(page);
        }
        Ok(all)
    }

    /// One poll of these jobs (20 request ids a call, pages read side by side): the ones that finished,
    /// status 2 ok or -1 failed, each with its phone. A poll that fails after its retries returns no
    /// finished job and its error text; only an error that stops the provider is an `Err`.
    pub(in crate::provider) async fn poll(
        &self,
        jobs: &[PendingJob],
    ) -> Result<crate::provider::Polled, ProviderError> {
        let mut request_ids: Vec<&str> = jobs.iter().map(|j| j.request_id.as_str()).collect();
        request_ids.sort_unstable();
        request_ids.dedup();
        // A request's jobs are listed finished or not: all of them are expected.
        let mut per_request: HashMap<&str, usize> = HashMap::new();
        for j in jobs {
            let n = per_request.entry(j.request_id.as_str()).or_default();
            *n = (*n).max(j.request_size);
        }
        let chunks: Vec<Vec<&str>> = request_ids
            .chunks(self.ctx.limits.job_query_batch())
            .map(<[&str]>::to_vec)
            .collect();
        let results: Vec<Result<Vec<JobStatus>, ProviderError>> = stream::iter(chunks)
            .map(|c| {
                let expected = c
                    .iter()
                    .map(|r| per_request.get(r).copied().unwrap_or(0))
                    .sum();
                async move { self.jobs_of(&c, expected).await }
            })
            .buffer_unordered(self.ctx.limits.concurrency)
            .collect()
            .await;
        let mut statuses: HashMap<String, Vec<JobStatus>> = HashMap::new();
        let mut failed_poll = None;
        for r in results {
            match r {
                Ok(list) => {
                    for s in list {
                        statuses.entry(s.job_id.clone()).or_default().push(s);
                    }
                }
                Err(e) if e.is_fatal() => return Err(e),
                Err(e) => failed_poll = Some(crate::provider::chain(&e)),
            }
        }
        // Keyed by job, and a job that names another phone is not this phone's outcome.
        let finished = jobs
            .iter()
            .filter_map(|j| {
                let listed = statuses.get(&j.job_id)?;
                let Some(s) = listed.iter().find(|s| {
                    s.phone_id
                        .as_deref()
                        .is_none_or(|p| p.is_empty() || p == j.phone_id)
                }) else {
                    // The job is listed, but only for other phones: not this phone's outcome, and
                    // waiting will not bring one.
                    let others: Vec<&str> = listed
                        .iter()
                        .filter_map(|s| s.phone_id.as_deref())
                        .collect();
                    return Some((
                        j.clone(),
                        Err(PhoneError {
                            code: "job-mismatch".into(),
                            message: format!(
                                "the provider's job {} answers for phone {}, not this one, so this \
                                 phone's outcome is unknown; run plan to see its state",
                                crate::redact::text(&j.job_id),
                                crate::redact::text(&others.join(", "))
                            ),
                        }),
                    ));
                };
                let result = match s.status {
                    2 => Ok(()),
                    -1 => Err(PhoneError::from_provider(
                        s.error_code
                            .as_deref()
                            .filter(|c| !c.is_empty())
                            .unwrap_or("job-failed"),
                        s.error_msg.as_deref().unwrap_or("the job failed"),
                    )),
                    _ => return None,
                };
                Some((j.clone(), result))
            })
            .collect();
        Ok(crate::provider::Polled {
            finished,
            failed_poll,
        })
    }
}
