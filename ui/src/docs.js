// booster-ui's GraphQL documents of the start-up, the selectors and the eBPF profiling tab, in the UI's shapes, for the
// page the server serves (ui/src/main.js) and for ui-check's pages (ui-check/page/). The documents of booster-ui's other
// pages are the e2e files of e2e/cases/queries/booster-ui-10.4.0/ (ui-check/page/walk.js reads them). One more, diff,
// is swprof's own: the differential analysis (no SkyWalking client has one).

export const DOC = {
  menu: `query menuItems {
    getMenuItems { title icon layer activate description documentLink i18nKey
      subItems { title icon layer activate description documentLink i18nKey } } }`,
  time: `query queryOAPTimeInfo { getTimeInfo { timezone currentTimestamp } }`,
  version: `query version { version }`,
  metricsTTL: `query queryMetricsTTL { getMetricsTTL { minute hour day coldMinute coldHour coldDay } }`,
  recordsTTL: `query queryRecordsTTL { getRecordsTTL { normal trace zipkinTrace log browserErrorLog } }`,
  tracesV2: `query queryHasQueryTracesV2Support { hasQueryTracesV2Support }`,
  templates: `query templates { getAllTemplates { id, configuration, } }`,
  layers: `query listLayer {
    layers: listLayers
  }`,
  services: `query queryServices($layer: String!) {
    services: listServices(layer: $layer) { id value: name label: name group layers normal shortName } }`,
  instances: `query queryInstances($serviceId: ID!, $duration: Duration!) {
    pods: listInstances(duration: $duration, serviceId: $serviceId) {
      id value: name label: name language instanceUUID attributes { name value } } }`,
  processes: `query queryProcesses($instanceId: ID!, $duration: Duration!) {
    processes: listProcesses(instanceId: $instanceId, duration: $duration) {
      id value: name label: name serviceId serviceName instanceId instanceName agentId detectType
      attributes { name value } labels } }`,
  tasks: `query queryEBPFTasks($serviceId: ID, $serviceInstanceId: ID, $targets: [EBPFProfilingTargetType!],
      $triggerType: EBPFProfilingTriggerType) {
    queryEBPFTasks: queryEBPFProfilingTasks(serviceId: $serviceId, serviceInstanceId: $serviceInstanceId,
        targets: $targets, triggerType: $triggerType) {
      taskId serviceName serviceId serviceInstanceId serviceInstanceName processLabels processName processId
      taskStartTime triggerType fixedTriggerDuration targetType createTime
      continuousProfilingCauses { type singleValue { threshold current } uri { uriRegex uriPath threshold current }
        message } } }`,
  createTaskData: `query queryCreateTaskData($serviceId: ID!) {
    createTaskData: queryPrepareCreateEBPFProfilingTaskData(serviceId: $serviceId) { couldProfiling processLabels } }`,
  createTask: `mutation createEBPFTask($request: EBPFProfilingTaskFixedTimeCreationRequest!) {
    createTaskData: createEBPFProfilingFixedTimeTask(request: $request) { status errorReason id } }`,
  schedules: `query queryEBPFSchedules($taskId: ID!) {
    eBPFSchedules: queryEBPFProfilingSchedules(taskId: $taskId) { scheduleId taskId
      process { id name serviceId serviceName instanceId instanceName agentId detectType attributes { name value }
        labels }
      startTime endTime } }`,
  analysis: `query analysisEBPFResult($scheduleIdList: [ID!]!, $timeRanges: [EBPFProfilingAnalyzeTimeRange!]!,
      $aggregateType: EBPFProfilingAnalyzeAggregateType) {
    analysisEBPFResult: analysisEBPFProfilingResult(scheduleIdList: $scheduleIdList, timeRanges: $timeRanges,
        aggregateType: $aggregateType) { tip trees { elements { id parentId symbol stackType dumpCount } } } }`,
  // the shape of e2e/cases/queries/swprof/diff.graphql (e2e case 18, swprof diff)
  diff: `query queryDiff($before: EBPFProfilingAnalyzeSide!, $after: EBPFProfilingAnalyzeSide!,
      $aggregateType: EBPFProfilingAnalyzeAggregateType) {
    diff: diffEBPFProfilingAnalyzation(before: $before, after: $after, aggregateType: $aggregateType) {
      tip trees { elements { id parentId symbol stackType beforeCount afterCount } } } }`,
};

/** The UI's durations: the last 30 minutes in the server's zone (minutes east of UTC), by step (SECOND or MINUTE). */
export function duration(step, tzMinutes) {
  const pad = (n) => String(n).padStart(2, "0");
  const fmt = (ms) => {
    const d = new Date(ms + tzMinutes * 60000);
    const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    const hm = `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}`;
    return step === "SECOND" ? `${day} ${hm}${pad(d.getUTCSeconds())}` : `${day} ${hm}`;
  };
  const now = Date.now();
  return { start: fmt(now - 1800000), end: fmt(now), step };
}
