//! The simulator's routes: each provider's documented method and path, matched once per request, with
//! the template its statistics and call log name it by, and which of them change something.

use axum::http::Method;

use crate::spec::ProviderKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    CphList,
    CphDetail,
    CphStop,
    CphRestart,
    CphReset,
    CphImages,
    CphProperty,
    CphTraffic,
    CphRename,
    CphJobs,
    CphJob,
    GlStatus,
    GlStart,
    GlStop,
    GlList,
    GlUpdate,
    GlMoveGroup,
    GlGroupList,
    GlGroupAdd,
    GlTagList,
    GlTagAdd,
    GlAddNew,
    GlDelete,
    GlProxyList,
    GlProxyAdd,
    GlNewOne,
    GlRestart,
    KpStatus,
    KpList,
    KpReboot,
    KpReset,
    KpTask,
    SimPhones,
    SimStats,
    SimLog,
    SimSetPhone,
    SimFaults,
    SimSetFaults,
    Unknown,
}

impl Route {
    pub(crate) fn of(method: &Method, segs: &[String]) -> Route {
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        let get = *method == Method::GET;
        let post = *method == Method::POST;
        let put = *method == Method::PUT;
        match s.as_slice() {
            ["v1", _, "cloud-phone", "phones"] if get => Route::CphList,
            ["v1", _, "cloud-phone", "phones", "batch-stop"] if post => Route::CphStop,
            ["v1", _, "cloud-phone", "phones", "batch-restart"] if post => Route::CphRestart,
            ["v1", _, "cloud-phone", "phones", "batch-reset"] if post => Route::CphReset,
            ["v1", _, "cloud-phone", "phones", "batch-update-property"] if post => {
                Route::CphProperty
            }
            ["v1", _, "cloud-phone", "phones", _] if get => Route::CphDetail,
            ["v1", _, "cloud-phone", "phones", _] if put => Route::CphRename,
            ["v1", _, "cloud-phone", "phones-traffic"] if post => Route::CphTraffic,
            ["v1", _, "cloud-phone", "jobs"] if get => Route::CphJobs,
            ["v1", _, "cloud-phone", "phone-images"] if get => Route::CphImages,
            ["v1", _, "cloud-phone", "jobs", _] if get => Route::CphJob,
            ["open", "v1", "phone", "status"] if post => Route::GlStatus,
            ["open", "v1", "phone", "start"] if post => Route::GlStart,
            ["open", "v1", "phone", "stop"] if post => Route::GlStop,
            ["open", "v1", "phone", "list"] if post => Route::GlList,
            ["open", "v1", "phone", "detail", "update"] if post => Route::GlUpdate,
            ["open", "v1", "phone", "moveGroup"] if post => Route::GlMoveGroup,
            ["open", "v1", "group", "list"] if post => Route::GlGroupList,
            ["open", "v1", "group", "add"] if post => Route::GlGroupAdd,
            ["open", "v1", "tag", "list"] if post => Route::GlTagList,
            ["open", "v1", "tag", "add"] if post => Route::GlTagAdd,
            ["open", "v1", "phone", "addNew"] if post => Route::GlAddNew,
            ["open", "v1", "phone", "delete"] if post => Route::GlDelete,
            ["open", "v1", "proxy", "list"] if post => Route::GlProxyList,
            ["open", "v1", "proxy", "add"] if post => Route::GlProxyAdd,
            ["open", "v2", "phone", "newOne"] if post => Route::GlNewOne,
            ["open", "v1", "phone", "restart"] if post => Route::GlRestart,
            ["v1", "instances", "batch-query-status"] if post => Route::KpStatus,
            ["v1", "instances", "batch-query"] if get => Route::KpList,
            ["v1", "instances", "reboot"] if post => Route::KpReboot,
            ["v1", "instances", "batch-reset"] if post => Route::KpReset,
            ["v1", "instances", "tasks", _] if get => Route::KpTask,
            ["_sim", "phones"] if get => Route::SimPhones,
            ["_sim", "stats"] if get => Route::SimStats,
            ["_sim", "log"] if get => Route::SimLog,
            ["_sim", "phones", _, _] if post => Route::SimSetPhone,
            ["_sim", "faults"] if get => Route::SimFaults,
            ["_sim", "faults"] if post => Route::SimSetFaults,
            _ => Route::Unknown,
        }
    }

    /// The documented route, as counted in `/_sim/stats`.
    pub(crate) fn template(self) -> &'static str {
        match self {
            Route::CphList => "GET /v1/{project_id}/cloud-phone/phones",
            Route::CphDetail => "GET /v1/{project_id}/cloud-phone/phones/{phone_id}",
            Route::CphStop => "POST /v1/{project_id}/cloud-phone/phones/batch-stop",
            Route::CphRestart => "POST /v1/{project_id}/cloud-phone/phones/batch-restart",
            Route::CphReset => "POST /v1/{project_id}/cloud-phone/phones/batch-reset",
            Route::CphProperty => "POST /v1/{project_id}/cloud-phone/phones/batch-update-property",
            Route::CphTraffic => "POST /v1/{project_id}/cloud-phone/phones-traffic",
            Route::CphRename => "PUT /v1/{project_id}/cloud-phone/phones/{phone_id}",
            Route::CphJobs => "GET /v1/{project_id}/cloud-phone/jobs",
            Route::CphImages => "GET /v1/{project_id}/cloud-phone/phone-images",
            Route::CphJob => "GET /v1/{project_id}/cloud-phone/jobs/{job_id}",
            Route::GlStatus => "POST /open/v1/phone/status",
            Route::GlStart => "POST /open/v1/phone/start",
            Route::GlStop => "POST /open/v1/phone/stop",
            Route::GlList => "POST /open/v1/phone/list",
            Route::GlUpdate => "POST /open/v1/phone/detail/update",
            Route::GlMoveGroup => "POST /open/v1/phone/moveGroup",
            Route::GlGroupList => "POST /open/v1/group/list",
            Route::GlGroupAdd => "POST /open/v1/group/add",
            Route::GlTagList => "POST /open/v1/tag/list",
            Route::GlTagAdd => "POST /open/v1/tag/add",
            Route::GlAddNew => "POST /open/v1/phone/addNew",
            Route::GlDelete => "POST /open/v1/phone/delete",
            Route::GlProxyList => "POST /open/v1/proxy/list",
            Route::GlProxyAdd => "POST /open/v1/proxy/add",
            Route::GlNewOne => "POST /open/v2/phone/newOne",
            Route::GlRestart => "POST /open/v1/phone/restart",
            Route::KpStatus => "POST /v1/instances/batch-query-status",
            Route::KpList => "GET /v1/instances/batch-query",
            Route::KpReboot => "POST /v1/instances/reboot",
            Route::KpReset => "POST /v1/instances/batch-reset",
            Route::KpTask => "GET /v1/instances/tasks/{task_id}",
            Route::SimPhones => "GET /_sim/phones",
            Route::SimStats => "GET /_sim/stats",
            Route::SimLog => "GET /_sim/log",
            Route::SimSetPhone => "POST /_sim/phones/{provider}/{id}",
            Route::SimFaults => "GET /_sim/faults",
            Route::SimSetFaults => "POST /_sim/faults",
            Route::Unknown => "unknown",
        }
    }

    pub(crate) fn kind(self) -> Option<ProviderKind> {
        match self {
            Route::CphList
            | Route::CphDetail
            | Route::CphStop
            | Route::CphRestart
            | Route::CphReset
            | Route::CphImages
            | Route::CphProperty
            | Route::CphTraffic
            | Route::CphRename
            | Route::CphJobs
            | Route::CphJob => Some(ProviderKind::HuaweiCph),
            Route::GlStatus
            | Route::GlStart
            | Route::GlStop
            | Route::GlList
            | Route::GlUpdate
            | Route::GlMoveGroup
            | Route::GlGroupList
            | Route::GlGroupAdd
            | Route::GlTagList
            | Route::GlTagAdd
            | Route::GlAddNew
            | Route::GlDelete
            | Route::GlProxyList
            | Route::GlProxyAdd
            | Route::GlNewOne
            | Route::GlRestart => Some(ProviderKind::Geelark),
            Route::KpStatus | Route::KpList | Route::KpReboot | Route::KpReset | Route::KpTask => {
                Some(ProviderKind::Koophone)
            }
            // The simulator's own routes, and unknown ones, belong to no provider.
            _ => None,
        }
    }

    pub(crate) fn mutating(self) -> bool {
        MUTATING.contains(&self)
    }
}

/// The routes that change something: stop, start, traffic, properties, names, groups, tags, remarks.
const MUTATING: [Route; 19] = [
    Route::CphStop,
    Route::CphRestart,
    Route::CphReset,
    Route::CphProperty,
    Route::CphTraffic,
    Route::CphRename,
    Route::GlStart,
    Route::GlStop,
    Route::GlUpdate,
    Route::GlMoveGroup,
    Route::GlGroupAdd,
    Route::GlTagAdd,
    Route::GlAddNew,
    Route::GlDelete,
    Route::GlProxyAdd,
    Route::GlNewOne,
    Route::GlRestart,
    Route::KpReboot,
    Route::KpReset,
];

/// Whether a route, as [`Simulator::stats`] names it, changes something.
pub fn is_mutating_route(route: &str) -> bool {
    MUTATING.iter().any(|r| r.template() == route)
}
