// booster-ui's GraphQL documents of the start-up and of the eBPF profiling tab, in the UI's shapes. The documents of
// its other pages are the e2e files of e2e/cases/queries/booster-ui-10.4.0/ (walk.js reads them).

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
  services: `query queryServices($layer: String!) {
    services: listServices(layer: $layer) { id value: name label: name group layers normal shortName } }`,
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
};
