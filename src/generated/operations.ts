// Generated from openapi.yaml by `npm run generate`. Do not edit.

/**
 * The HTTP method and path (under the server URL) of every operation of openapi.yaml, and how
 * to read its answer when it is not JSON.
 */
export const operationRoutes = {
  "getLiveness": { method: "get", path: "/liveness" },
  "getReadiness": { method: "get", path: "/readiness" },
  "getMetrics": { method: "get", path: "/metrics", parseAs: "text" },
  "listAudit": { method: "get", path: "/audit" },
  "streamEvents": { method: "get", path: "/events", parseAs: "text" },
  "getServiceState": { method: "get", path: "/service/state" },
  "setServiceState": { method: "put", path: "/service/state" },
  "getCaller": { method: "get", path: "/service/caller" },
  "listJobs": { method: "get", path: "/jobs" },
  "createJob": { method: "post", path: "/jobs" },
  "deleteAllJobs": { method: "delete", path: "/jobs" },
  "cleanFailed": { method: "delete", path: "/jobs/clean-failed" },
  "getJob": { method: "get", path: "/jobs/{job_id}" },
  "setJobState": { method: "put", path: "/jobs/{job_id}" },
  "deleteJob": { method: "delete", path: "/jobs/{job_id}" },
  "listJobExecutions": { method: "get", path: "/jobs/{job_id}/executions" },
  "runJob": { method: "post", path: "/jobs/{job_id}/executions" },
  "scheduleFlowScheduling": { method: "post", path: "/jobs/flow-scheduling" },
  "scheduleSelectiveFlowScheduling": { method: "post", path: "/jobs/selective-flow-scheduling" },
  "scheduleHttpRequest": { method: "post", path: "/jobs/http-request" },
  "scheduleEcho": { method: "post", path: "/jobs/echo" },
  "scheduleCleanupExecutions": { method: "post", path: "/jobs/cleanup-executions" },
  "scheduleRunScript": { method: "post", path: "/jobs/run-script" },
  "listExecutions": { method: "get", path: "/executions" },
  "getExecution": { method: "get", path: "/executions/{execution_id}" },
  "getExecutionOutput": { method: "get", path: "/executions/{execution_id}/output" },
  "cancelExecution": { method: "post", path: "/executions/{execution_id}/cancel" },
  "getBatch": { method: "get", path: "/batches/{batch_id}" },
  "listWorkers": { method: "get", path: "/workers" },
  "getWorker": { method: "get", path: "/workers/{worker_id}" },
  "setWorkerState": { method: "put", path: "/workers/{worker_id}/state" },
  "getStats": { method: "get", path: "/stats" },
  "listHandlers": { method: "get", path: "/handlers" },
  "getOpenApiJson": { method: "get", path: "/openapi.json" },
  "getSwaggerJson": { method: "get", path: "/swagger.json" },
  "getOpenApiYaml": { method: "get", path: "/openapi.yaml", parseAs: "text" },
  "getSwaggerUi": { method: "get", path: "/ui", parseAs: "text" },
  "getSwaggerUiAsset": { method: "get", path: "/ui/{asset}", parseAs: "blob" },
  "listSecrets": { method: "get", path: "/secrets" },
  "createSecret": { method: "post", path: "/secrets" },
  "getSecret": { method: "get", path: "/secrets/{name}" },
  "putSecret": { method: "put", path: "/secrets/{name}" },
  "deleteSecret": { method: "delete", path: "/secrets/{name}" },
} as const;

/** The route of each handler that has one of its own (`x-handler`), by the handler's name. */
export const handlerRoutes = {
  "flow-scheduling": "scheduleFlowScheduling",
  "selective-flow-scheduling": "scheduleSelectiveFlowScheduling",
  "http-request": "scheduleHttpRequest",
  "echo": "scheduleEcho",
  "cleanup-executions": "scheduleCleanupExecutions",
  "run-script": "scheduleRunScript",
} as const;
