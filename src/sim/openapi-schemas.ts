/**
 * The OpenAPI v3 schemas the sim publishes for its built-in kinds, in the shape a real API server
 * publishes them: components named by Go package and type (`io.k8s.api.apps.v1.DeploymentSpec`),
 * struct fields as `allOf: [{$ref}]`, lists with `x-kubernetes-patch-strategy`,
 * `x-kubernetes-patch-merge-key`, `x-kubernetes-list-type` and `x-kubernetes-list-map-keys` where the
 * Kubernetes API types declare them, kinds tagged with `x-kubernetes-group-version-kind`.
 *
 * Clients read patch metadata from these (kubectl apply does; so does the agent), so every field that
 * can hold a map or a list is declared down to its leaves; scalars are declared where they document the
 * type. Descriptions are left out. A kind or field missing here makes a client fall back to its
 * compiled-in types, as it would with an older server.
 */

/** `string`, `integer`, `boolean`, `number`; `map` (string values); `object` (free-form); `IntOrString`; a type name; `[]` + any of them. */
type FieldType = string;
/** A field: its type, or its type with the patch strategy and merge key the API types tag it with. */
type Field = FieldType | readonly [FieldType, string, string?];
type Fields = Record<string, Field>;

const merge = (type: FieldType, mergeKey?: string): Field => (mergeKey === undefined ? [type, 'merge'] : [type, 'merge', mergeKey]);
const SCALARS = new Set(['string', 'integer', 'boolean', 'number']);

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const CORE = 'io.k8s.api.core.v1';

const conditionsStatus: Fields = { conditions: merge('[]Condition', 'type'), observedGeneration: 'integer' };

const PACKAGES: Record<string, Record<string, Fields>> = {
  [META]: {
    ObjectMeta: {
      name: 'string',
      generateName: 'string',
      namespace: 'string',
      uid: 'string',
      resourceVersion: 'string',
      generation: 'integer',
      creationTimestamp: 'string',
      deletionTimestamp: 'string',
      deletionGracePeriodSeconds: 'integer',
      labels: 'map',
      annotations: 'map',
      ownerReferences: merge('[]OwnerReference', 'uid'),
      finalizers: merge('[]string'),
      managedFields: '[]ManagedFieldsEntry',
    },
    OwnerReference: { apiVersion: 'string', kind: 'string', name: 'string', uid: 'string', controller: 'boolean', blockOwnerDeletion: 'boolean' },
    ManagedFieldsEntry: {
      manager: 'string',
      operation: 'string',
      apiVersion: 'string',
      time: 'string',
      fieldsType: 'string',
      fieldsV1: 'object',
      subresource: 'string',
    },
    LabelSelector: { matchLabels: 'map', matchExpressions: '[]LabelSelectorRequirement' },
    LabelSelectorRequirement: { key: 'string', operator: 'string', values: '[]string' },
    Condition: { type: 'string', status: 'string', observedGeneration: 'integer', lastTransitionTime: 'string', reason: 'string', message: 'string' },
  },
  [CORE]: {
    Namespace: { spec: 'NamespaceSpec', status: 'NamespaceStatus' },
    NamespaceSpec: { finalizers: '[]string' },
    NamespaceStatus: { phase: 'string', conditions: merge('[]Condition', 'type') },
    Node: { spec: 'NodeSpec', status: 'NodeStatus' },
    NodeSpec: { podCIDR: 'string', podCIDRs: merge('[]string'), providerID: 'string', unschedulable: 'boolean', taints: '[]Taint' },
    Taint: { key: 'string', value: 'string', effect: 'string', timeAdded: 'string' },
    NodeStatus: {
      capacity: 'map',
      allocatable: 'map',
      phase: 'string',
      conditions: merge('[]Condition', 'type'),
      addresses: merge('[]NodeAddress', 'type'),
      nodeInfo: 'object',
      images: '[]object',
    },
    NodeAddress: { type: 'string', address: 'string' },
    ConfigMap: { data: 'map', binaryData: 'map', immutable: 'boolean' },
    Secret: { data: 'map', stringData: 'map', type: 'string', immutable: 'boolean' },
    ServiceAccount: { secrets: merge('[]ObjectReference', 'name'), imagePullSecrets: '[]LocalObjectReference', automountServiceAccountToken: 'boolean' },
    ObjectReference: {
      kind: 'string',
      namespace: 'string',
      name: 'string',
      uid: 'string',
      apiVersion: 'string',
      resourceVersion: 'string',
      fieldPath: 'string',
    },
    LocalObjectReference: { name: 'string' },
    Event: {
      involvedObject: 'ObjectReference',
      reason: 'string',
      message: 'string',
      source: 'EventSource',
      firstTimestamp: 'string',
      lastTimestamp: 'string',
      count: 'integer',
      type: 'string',
      eventTime: 'string',
      action: 'string',
      related: 'ObjectReference',
      reportingComponent: 'string',
      reportingInstance: 'string',
    },
    EventSource: { component: 'string', host: 'string' },
    Service: { spec: 'ServiceSpec', status: 'ServiceStatus' },
    ServiceSpec: {
      ports: ['[]ServicePort', 'merge', 'port'],
      selector: 'map',
      clusterIP: 'string',
      clusterIPs: '[]string',
      type: 'string',
      externalIPs: '[]string',
      sessionAffinity: 'string',
      loadBalancerIP: 'string',
      loadBalancerSourceRanges: '[]string',
      externalName: 'string',
      externalTrafficPolicy: 'string',
      healthCheckNodePort: 'integer',
      publishNotReadyAddresses: 'boolean',
      sessionAffinityConfig: 'SessionAffinityConfig',
      ipFamilies: '[]string',
      ipFamilyPolicy: 'string',
      allocateLoadBalancerNodePorts: 'boolean',
      loadBalancerClass: 'string',
      internalTrafficPolicy: 'string',
      trafficDistribution: 'string',
    },
    ServicePort: { name: 'string', protocol: 'string', appProtocol: 'string', port: 'integer', targetPort: 'IntOrString', nodePort: 'integer' },
    SessionAffinityConfig: { clientIP: 'ClientIPConfig' },
    ClientIPConfig: { timeoutSeconds: 'integer' },
    ServiceStatus: { loadBalancer: 'object', conditions: merge('[]Condition', 'type') },
    PersistentVolumeClaim: { metadata: 'ObjectMeta', spec: 'PersistentVolumeClaimSpec', status: 'PersistentVolumeClaimStatus' },
    PersistentVolumeClaimSpec: {
      accessModes: '[]string',
      selector: 'LabelSelector',
      resources: 'VolumeResourceRequirements',
      volumeName: 'string',
      storageClassName: 'string',
      volumeMode: 'string',
      dataSource: 'TypedLocalObjectReference',
      dataSourceRef: 'TypedObjectReference',
      volumeAttributesClassName: 'string',
    },
    VolumeResourceRequirements: { limits: 'map', requests: 'map' },
    TypedLocalObjectReference: { apiGroup: 'string', kind: 'string', name: 'string' },
    TypedObjectReference: { apiGroup: 'string', kind: 'string', name: 'string', namespace: 'string' },
    PersistentVolumeClaimStatus: { phase: 'string', accessModes: '[]string', capacity: 'map', conditions: merge('[]PersistentVolumeClaimCondition', 'type') },
    PersistentVolumeClaimCondition: {
      type: 'string',
      status: 'string',
      lastProbeTime: 'string',
      lastTransitionTime: 'string',
      reason: 'string',
      message: 'string',
    },
    Pod: { spec: 'PodSpec', status: 'PodStatus' },
    PodStatus: {
      phase: 'string',
      conditions: merge('[]PodCondition', 'type'),
      message: 'string',
      reason: 'string',
      hostIP: 'string',
      hostIPs: merge('[]HostIP', 'ip'),
      podIP: 'string',
      podIPs: merge('[]PodIP', 'ip'),
      startTime: 'string',
      initContainerStatuses: '[]object',
      containerStatuses: '[]object',
      qosClass: 'string',
    },
    PodCondition: { type: 'string', status: 'string', lastProbeTime: 'string', lastTransitionTime: 'string', reason: 'string', message: 'string' },
    HostIP: { ip: 'string' },
    PodIP: { ip: 'string' },
    PodTemplateSpec: { metadata: 'ObjectMeta', spec: 'PodSpec' },
    PodSpec: {
      volumes: ['[]Volume', 'merge,retainKeys', 'name'],
      initContainers: merge('[]Container', 'name'),
      containers: merge('[]Container', 'name'),
      ephemeralContainers: merge('[]Container', 'name'),
      restartPolicy: 'string',
      terminationGracePeriodSeconds: 'integer',
      activeDeadlineSeconds: 'integer',
      dnsPolicy: 'string',
      nodeSelector: 'map',
      serviceAccountName: 'string',
      serviceAccount: 'string',
      automountServiceAccountToken: 'boolean',
      nodeName: 'string',
      hostNetwork: 'boolean',
      hostPID: 'boolean',
      hostIPC: 'boolean',
      shareProcessNamespace: 'boolean',
      securityContext: 'PodSecurityContext',
      imagePullSecrets: merge('[]LocalObjectReference', 'name'),
      hostname: 'string',
      subdomain: 'string',
      affinity: 'Affinity',
      schedulerName: 'string',
      tolerations: '[]Toleration',
      hostAliases: merge('[]HostAlias', 'ip'),
      priorityClassName: 'string',
      priority: 'integer',
      dnsConfig: 'PodDNSConfig',
      readinessGates: '[]PodReadinessGate',
      runtimeClassName: 'string',
      enableServiceLinks: 'boolean',
      preemptionPolicy: 'string',
      overhead: 'map',
      topologySpreadConstraints: merge('[]TopologySpreadConstraint', 'topologyKey'),
      setHostnameAsFQDN: 'boolean',
      os: 'PodOS',
      hostUsers: 'boolean',
      schedulingGates: merge('[]PodSchedulingGate', 'name'),
      resourceClaims: ['[]PodResourceClaim', 'merge,retainKeys', 'name'],
    },
    Container: {
      name: 'string',
      image: 'string',
      command: '[]string',
      args: '[]string',
      workingDir: 'string',
      ports: merge('[]ContainerPort', 'containerPort'),
      envFrom: '[]EnvFromSource',
      env: merge('[]EnvVar', 'name'),
      resources: 'ResourceRequirements',
      resizePolicy: '[]ContainerResizePolicy',
      restartPolicy: 'string',
      volumeMounts: merge('[]VolumeMount', 'mountPath'),
      volumeDevices: merge('[]VolumeDevice', 'devicePath'),
      livenessProbe: 'Probe',
      readinessProbe: 'Probe',
      startupProbe: 'Probe',
      lifecycle: 'Lifecycle',
      terminationMessagePath: 'string',
      terminationMessagePolicy: 'string',
      imagePullPolicy: 'string',
      securityContext: 'SecurityContext',
      stdin: 'boolean',
      stdinOnce: 'boolean',
      tty: 'boolean',
    },
    ContainerPort: { name: 'string', hostPort: 'integer', containerPort: 'integer', protocol: 'string', hostIP: 'string' },
    EnvVar: { name: 'string', value: 'string', valueFrom: 'EnvVarSource' },
    EnvVarSource: {
      fieldRef: 'ObjectFieldSelector',
      resourceFieldRef: 'ResourceFieldSelector',
      configMapKeyRef: 'ConfigMapKeySelector',
      secretKeyRef: 'SecretKeySelector',
    },
    ObjectFieldSelector: { apiVersion: 'string', fieldPath: 'string' },
    ResourceFieldSelector: { containerName: 'string', resource: 'string', divisor: 'string' },
    ConfigMapKeySelector: { name: 'string', key: 'string', optional: 'boolean' },
    SecretKeySelector: { name: 'string', key: 'string', optional: 'boolean' },
    EnvFromSource: { prefix: 'string', configMapRef: 'ConfigMapEnvSource', secretRef: 'SecretEnvSource' },
    ConfigMapEnvSource: { name: 'string', optional: 'boolean' },
    SecretEnvSource: { name: 'string', optional: 'boolean' },
    ResourceRequirements: { limits: 'map', requests: 'map', claims: '[]ResourceClaim' },
    ResourceClaim: { name: 'string', request: 'string' },
    ContainerResizePolicy: { resourceName: 'string', restartPolicy: 'string' },
    VolumeMount: {
      name: 'string',
      readOnly: 'boolean',
      recursiveReadOnly: 'string',
      mountPath: 'string',
      subPath: 'string',
      mountPropagation: 'string',
      subPathExpr: 'string',
    },
    VolumeDevice: { name: 'string', devicePath: 'string' },
    Probe: {
      exec: 'ExecAction',
      httpGet: 'HTTPGetAction',
      tcpSocket: 'TCPSocketAction',
      grpc: 'GRPCAction',
      initialDelaySeconds: 'integer',
      timeoutSeconds: 'integer',
      periodSeconds: 'integer',
      successThreshold: 'integer',
      failureThreshold: 'integer',
      terminationGracePeriodSeconds: 'integer',
    },
    ExecAction: { command: '[]string' },
    HTTPGetAction: { path: 'string', port: 'IntOrString', host: 'string', scheme: 'string', httpHeaders: '[]HTTPHeader' },
    HTTPHeader: { name: 'string', value: 'string' },
    TCPSocketAction: { port: 'IntOrString', host: 'string' },
    GRPCAction: { port: 'integer', service: 'string' },
    Lifecycle: { postStart: 'LifecycleHandler', preStop: 'LifecycleHandler', stopSignal: 'string' },
    LifecycleHandler: { exec: 'ExecAction', httpGet: 'HTTPGetAction', tcpSocket: 'TCPSocketAction', sleep: 'SleepAction' },
    SleepAction: { seconds: 'integer' },
    SecurityContext: {
      capabilities: 'Capabilities',
      privileged: 'boolean',
      seLinuxOptions: 'SELinuxOptions',
      windowsOptions: 'object',
      runAsUser: 'integer',
      runAsGroup: 'integer',
      runAsNonRoot: 'boolean',
      readOnlyRootFilesystem: 'boolean',
      allowPrivilegeEscalation: 'boolean',
      procMount: 'string',
      seccompProfile: 'SeccompProfile',
      appArmorProfile: 'AppArmorProfile',
    },
    Capabilities: { add: '[]string', drop: '[]string' },
    SELinuxOptions: { user: 'string', role: 'string', type: 'string', level: 'string' },
    SeccompProfile: { type: 'string', localhostProfile: 'string' },
    AppArmorProfile: { type: 'string', localhostProfile: 'string' },
    PodSecurityContext: {
      seLinuxOptions: 'SELinuxOptions',
      windowsOptions: 'object',
      runAsUser: 'integer',
      runAsGroup: 'integer',
      runAsNonRoot: 'boolean',
      supplementalGroups: '[]integer',
      supplementalGroupsPolicy: 'string',
      fsGroup: 'integer',
      sysctls: '[]Sysctl',
      fsGroupChangePolicy: 'string',
      seccompProfile: 'SeccompProfile',
      appArmorProfile: 'AppArmorProfile',
      seLinuxChangePolicy: 'string',
    },
    Sysctl: { name: 'string', value: 'string' },
    Volume: {
      name: 'string',
      hostPath: 'HostPathVolumeSource',
      emptyDir: 'EmptyDirVolumeSource',
      secret: 'SecretVolumeSource',
      configMap: 'ConfigMapVolumeSource',
      persistentVolumeClaim: 'PersistentVolumeClaimVolumeSource',
      projected: 'ProjectedVolumeSource',
      downwardAPI: 'DownwardAPIVolumeSource',
      nfs: 'NFSVolumeSource',
      csi: 'CSIVolumeSource',
      ephemeral: 'object',
    },
    HostPathVolumeSource: { path: 'string', type: 'string' },
    EmptyDirVolumeSource: { medium: 'string', sizeLimit: 'string' },
    SecretVolumeSource: { secretName: 'string', items: '[]KeyToPath', defaultMode: 'integer', optional: 'boolean' },
    ConfigMapVolumeSource: { name: 'string', items: '[]KeyToPath', defaultMode: 'integer', optional: 'boolean' },
    KeyToPath: { key: 'string', path: 'string', mode: 'integer' },
    PersistentVolumeClaimVolumeSource: { claimName: 'string', readOnly: 'boolean' },
    ProjectedVolumeSource: { sources: '[]VolumeProjection', defaultMode: 'integer' },
    VolumeProjection: {
      secret: 'SecretProjection',
      configMap: 'ConfigMapProjection',
      downwardAPI: 'DownwardAPIProjection',
      serviceAccountToken: 'ServiceAccountTokenProjection',
    },
    SecretProjection: { name: 'string', items: '[]KeyToPath', optional: 'boolean' },
    ConfigMapProjection: { name: 'string', items: '[]KeyToPath', optional: 'boolean' },
    DownwardAPIProjection: { items: '[]DownwardAPIVolumeFile' },
    ServiceAccountTokenProjection: { audience: 'string', expirationSeconds: 'integer', path: 'string' },
    DownwardAPIVolumeSource: { items: '[]DownwardAPIVolumeFile', defaultMode: 'integer' },
    DownwardAPIVolumeFile: { path: 'string', fieldRef: 'ObjectFieldSelector', resourceFieldRef: 'ResourceFieldSelector', mode: 'integer' },
    NFSVolumeSource: { server: 'string', path: 'string', readOnly: 'boolean' },
    CSIVolumeSource: { driver: 'string', readOnly: 'boolean', fsType: 'string', volumeAttributes: 'map', nodePublishSecretRef: 'LocalObjectReference' },
    Affinity: { nodeAffinity: 'NodeAffinity', podAffinity: 'PodAffinity', podAntiAffinity: 'PodAntiAffinity' },
    NodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: 'NodeSelector',
      preferredDuringSchedulingIgnoredDuringExecution: '[]PreferredSchedulingTerm',
    },
    NodeSelector: { nodeSelectorTerms: '[]NodeSelectorTerm' },
    NodeSelectorTerm: { matchExpressions: '[]NodeSelectorRequirement', matchFields: '[]NodeSelectorRequirement' },
    NodeSelectorRequirement: { key: 'string', operator: 'string', values: '[]string' },
    PreferredSchedulingTerm: { weight: 'integer', preference: 'NodeSelectorTerm' },
    PodAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: '[]PodAffinityTerm',
      preferredDuringSchedulingIgnoredDuringExecution: '[]WeightedPodAffinityTerm',
    },
    PodAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: '[]PodAffinityTerm',
      preferredDuringSchedulingIgnoredDuringExecution: '[]WeightedPodAffinityTerm',
    },
    PodAffinityTerm: {
      labelSelector: 'LabelSelector',
      namespaces: '[]string',
      topologyKey: 'string',
      namespaceSelector: 'LabelSelector',
      matchLabelKeys: '[]string',
      mismatchLabelKeys: '[]string',
    },
    WeightedPodAffinityTerm: { weight: 'integer', podAffinityTerm: 'PodAffinityTerm' },
    Toleration: { key: 'string', operator: 'string', value: 'string', effect: 'string', tolerationSeconds: 'integer' },
    HostAlias: { ip: 'string', hostnames: '[]string' },
    PodDNSConfig: { nameservers: '[]string', searches: '[]string', options: '[]PodDNSConfigOption' },
    PodDNSConfigOption: { name: 'string', value: 'string' },
    PodReadinessGate: { conditionType: 'string' },
    TopologySpreadConstraint: {
      maxSkew: 'integer',
      topologyKey: 'string',
      whenUnsatisfiable: 'string',
      labelSelector: 'LabelSelector',
      minDomains: 'integer',
      nodeAffinityPolicy: 'string',
      nodeTaintsPolicy: 'string',
      matchLabelKeys: '[]string',
    },
    PodOS: { name: 'string' },
    PodSchedulingGate: { name: 'string' },
    PodResourceClaim: { name: 'string', resourceClaimName: 'string', resourceClaimTemplateName: 'string' },
  },
  'io.k8s.api.apps.v1': {
    Deployment: { spec: 'DeploymentSpec', status: 'DeploymentStatus' },
    DeploymentSpec: {
      replicas: 'integer',
      selector: 'LabelSelector',
      template: 'PodTemplateSpec',
      strategy: ['DeploymentStrategy', 'retainKeys'],
      minReadySeconds: 'integer',
      revisionHistoryLimit: 'integer',
      paused: 'boolean',
      progressDeadlineSeconds: 'integer',
    },
    DeploymentStrategy: { type: 'string', rollingUpdate: 'RollingUpdateDeployment' },
    RollingUpdateDeployment: { maxUnavailable: 'IntOrString', maxSurge: 'IntOrString' },
    DeploymentStatus: {
      replicas: 'integer',
      updatedReplicas: 'integer',
      readyReplicas: 'integer',
      availableReplicas: 'integer',
      unavailableReplicas: 'integer',
      ...conditionsStatus,
    },
    ReplicaSet: { spec: 'ReplicaSetSpec', status: 'WorkloadStatus' },
    ReplicaSetSpec: { replicas: 'integer', minReadySeconds: 'integer', selector: 'LabelSelector', template: 'PodTemplateSpec' },
    StatefulSet: { spec: 'StatefulSetSpec', status: 'WorkloadStatus' },
    StatefulSetSpec: {
      replicas: 'integer',
      selector: 'LabelSelector',
      template: 'PodTemplateSpec',
      volumeClaimTemplates: '[]PersistentVolumeClaim',
      serviceName: 'string',
      podManagementPolicy: 'string',
      updateStrategy: 'StatefulSetUpdateStrategy',
      revisionHistoryLimit: 'integer',
      minReadySeconds: 'integer',
      persistentVolumeClaimRetentionPolicy: 'StatefulSetPersistentVolumeClaimRetentionPolicy',
      ordinals: 'StatefulSetOrdinals',
    },
    StatefulSetUpdateStrategy: { type: 'string', rollingUpdate: 'RollingUpdateStatefulSetStrategy' },
    RollingUpdateStatefulSetStrategy: { partition: 'integer', maxUnavailable: 'IntOrString' },
    StatefulSetPersistentVolumeClaimRetentionPolicy: { whenDeleted: 'string', whenScaled: 'string' },
    StatefulSetOrdinals: { start: 'integer' },
    DaemonSet: { spec: 'DaemonSetSpec', status: 'WorkloadStatus' },
    DaemonSetSpec: {
      selector: 'LabelSelector',
      template: 'PodTemplateSpec',
      updateStrategy: 'DaemonSetUpdateStrategy',
      minReadySeconds: 'integer',
      revisionHistoryLimit: 'integer',
    },
    DaemonSetUpdateStrategy: { type: 'string', rollingUpdate: 'RollingUpdateDaemonSet' },
    RollingUpdateDaemonSet: { maxUnavailable: 'IntOrString', maxSurge: 'IntOrString' },
    WorkloadStatus: { replicas: 'integer', readyReplicas: 'integer', availableReplicas: 'integer', ...conditionsStatus },
    ControllerRevision: { data: 'object', revision: 'integer' },
  },
  'io.k8s.api.batch.v1': {
    Job: { spec: 'JobSpec', status: 'JobStatus' },
    JobSpec: {
      parallelism: 'integer',
      completions: 'integer',
      activeDeadlineSeconds: 'integer',
      podFailurePolicy: 'object',
      successPolicy: 'object',
      backoffLimit: 'integer',
      backoffLimitPerIndex: 'integer',
      maxFailedIndexes: 'integer',
      selector: 'LabelSelector',
      manualSelector: 'boolean',
      template: 'PodTemplateSpec',
      ttlSecondsAfterFinished: 'integer',
      completionMode: 'string',
      suspend: 'boolean',
      podReplacementPolicy: 'string',
      managedBy: 'string',
    },
    JobStatus: {
      conditions: merge('[]Condition', 'type'),
      startTime: 'string',
      completionTime: 'string',
      active: 'integer',
      succeeded: 'integer',
      failed: 'integer',
    },
    CronJob: { spec: 'CronJobSpec', status: 'CronJobStatus' },
    CronJobSpec: {
      schedule: 'string',
      timeZone: 'string',
      startingDeadlineSeconds: 'integer',
      concurrencyPolicy: 'string',
      suspend: 'boolean',
      jobTemplate: 'JobTemplateSpec',
      successfulJobsHistoryLimit: 'integer',
      failedJobsHistoryLimit: 'integer',
    },
    JobTemplateSpec: { metadata: 'ObjectMeta', spec: 'JobSpec' },
    CronJobStatus: { active: '[]ObjectReference', lastScheduleTime: 'string', lastSuccessfulTime: 'string' },
  },
  'io.k8s.api.networking.v1': {
    Ingress: { spec: 'IngressSpec', status: 'object' },
    IngressSpec: { ingressClassName: 'string', defaultBackend: 'IngressBackend', tls: '[]IngressTLS', rules: '[]IngressRule' },
    IngressBackend: { service: 'IngressServiceBackend', resource: 'TypedLocalObjectReference' },
    IngressServiceBackend: { name: 'string', port: 'ServiceBackendPort' },
    ServiceBackendPort: { name: 'string', number: 'integer' },
    IngressTLS: { hosts: '[]string', secretName: 'string' },
    IngressRule: { host: 'string', http: 'HTTPIngressRuleValue' },
    HTTPIngressRuleValue: { paths: '[]HTTPIngressPath' },
    HTTPIngressPath: { path: 'string', pathType: 'string', backend: 'IngressBackend' },
    NetworkPolicy: { spec: 'NetworkPolicySpec' },
    NetworkPolicySpec: { podSelector: 'LabelSelector', ingress: '[]NetworkPolicyIngressRule', egress: '[]NetworkPolicyEgressRule', policyTypes: '[]string' },
    NetworkPolicyIngressRule: { ports: '[]NetworkPolicyPort', from: '[]NetworkPolicyPeer' },
    NetworkPolicyEgressRule: { ports: '[]NetworkPolicyPort', to: '[]NetworkPolicyPeer' },
    NetworkPolicyPort: { protocol: 'string', port: 'IntOrString', endPort: 'integer' },
    NetworkPolicyPeer: { podSelector: 'LabelSelector', namespaceSelector: 'LabelSelector', ipBlock: 'IPBlock' },
    IPBlock: { cidr: 'string', except: '[]string' },
  },
  'io.k8s.api.autoscaling.v2': {
    HorizontalPodAutoscaler: { spec: 'HorizontalPodAutoscalerSpec', status: 'HorizontalPodAutoscalerStatus' },
    HorizontalPodAutoscalerSpec: {
      scaleTargetRef: 'CrossVersionObjectReference',
      minReplicas: 'integer',
      maxReplicas: 'integer',
      metrics: '[]MetricSpec',
      behavior: 'HorizontalPodAutoscalerBehavior',
    },
    CrossVersionObjectReference: { kind: 'string', name: 'string', apiVersion: 'string' },
    MetricSpec: { type: 'string', object: 'object', pods: 'object', resource: 'ResourceMetricSource', containerResource: 'object', external: 'object' },
    ResourceMetricSource: { name: 'string', target: 'MetricTarget' },
    MetricTarget: { type: 'string', value: 'string', averageValue: 'string', averageUtilization: 'integer' },
    HorizontalPodAutoscalerBehavior: { scaleUp: 'HPAScalingRules', scaleDown: 'HPAScalingRules' },
    HPAScalingRules: { stabilizationWindowSeconds: 'integer', selectPolicy: 'string', policies: '[]HPAScalingPolicy', tolerance: 'string' },
    HPAScalingPolicy: { type: 'string', value: 'integer', periodSeconds: 'integer' },
    HorizontalPodAutoscalerStatus: {
      observedGeneration: 'integer',
      currentReplicas: 'integer',
      desiredReplicas: 'integer',
      currentMetrics: '[]object',
      conditions: merge('[]Condition', 'type'),
    },
  },
  'io.k8s.api.policy.v1': {
    PodDisruptionBudget: { spec: 'PodDisruptionBudgetSpec', status: 'PodDisruptionBudgetStatus' },
    PodDisruptionBudgetSpec: {
      minAvailable: 'IntOrString',
      maxUnavailable: 'IntOrString',
      selector: ['LabelSelector', 'replace'],
      unhealthyPodEvictionPolicy: 'string',
    },
    PodDisruptionBudgetStatus: {
      observedGeneration: 'integer',
      disruptedPods: 'map',
      disruptionsAllowed: 'integer',
      currentHealthy: 'integer',
      desiredHealthy: 'integer',
      expectedPods: 'integer',
      conditions: merge('[]Condition', 'type'),
    },
  },
  'io.k8s.api.rbac.v1': {
    Role: { rules: '[]PolicyRule' },
    ClusterRole: { rules: '[]PolicyRule', aggregationRule: 'AggregationRule' },
    PolicyRule: { verbs: '[]string', apiGroups: '[]string', resources: '[]string', resourceNames: '[]string', nonResourceURLs: '[]string' },
    AggregationRule: { clusterRoleSelectors: '[]LabelSelector' },
    RoleBinding: { subjects: '[]Subject', roleRef: 'RoleRef' },
    ClusterRoleBinding: { subjects: '[]Subject', roleRef: 'RoleRef' },
    Subject: { kind: 'string', apiGroup: 'string', name: 'string', namespace: 'string' },
    RoleRef: { apiGroup: 'string', kind: 'string', name: 'string' },
  },
};

/** Components every document may reference besides the catalogue's types. */
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

/** Short type name → full component name; names are unique across the packages above. */
const FULL_NAMES = new Map<string, string>();
for (const [pkg, types] of Object.entries(PACKAGES)) {
  for (const name of Object.keys(types)) {
    if (FULL_NAMES.has(name)) throw new Error(`sim OpenAPI: type ${name} is declared twice`);
    FULL_NAMES.set(name, `${pkg}.${name}`);
  }
}
const FIELDS_BY_FULL_NAME = new Map<string, Fields>();
for (const [pkg, types] of Object.entries(PACKAGES)) for (const [name, fields] of Object.entries(types)) FIELDS_BY_FULL_NAME.set(`${pkg}.${name}`, fields);

const ref = (fullName: string) => ({ $ref: `#/components/schemas/${fullName}` });

function typeSchema(type: FieldType, referenced: Set<string>): Record<string, unknown> {
  if (type.startsWith('[]')) {
    const item = type.slice(2);
    return { type: 'array', items: SCALARS.has(item) ? { type: item, default: item === 'string' ? '' : 0 } : { ...typeSchema(item, referenced), default: {} } };
  }
  if (type === 'string' || type === 'boolean' || type === 'number') return { type };
  if (type === 'integer') return { type: 'integer', format: 'int64' };
  if (type === 'map') return { type: 'object', additionalProperties: { type: 'string', default: '' } };
  if (type === 'object') return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  if (type === 'IntOrString') {
    referenced.add(INT_OR_STRING);
    return { allOf: [ref(INT_OR_STRING)] };
  }
  const fullName = FULL_NAMES.get(type);
  if (fullName === undefined) throw new Error(`sim OpenAPI: unknown type ${type}`);
  referenced.add(fullName);
  return { allOf: [ref(fullName)] };
}

function fieldSchema(field: Field, referenced: Set<string>): Record<string, unknown> {
  if (typeof field === 'string') return typeSchema(field, referenced);
  const [type, strategy, mergeKey] = field;
  const schema: Record<string, unknown> = { ...typeSchema(type, referenced), 'x-kubernetes-patch-strategy': strategy };
  if (mergeKey !== undefined) schema['x-kubernetes-patch-merge-key'] = mergeKey;
  if (type.startsWith('[]')) {
    if (mergeKey !== undefined) Object.assign(schema, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': [mergeKey] });
    else if (strategy === 'merge') schema['x-kubernetes-list-type'] = 'set';
  }
  return schema;
}

function structSchema(fields: Fields, referenced: Set<string>): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(fields)) properties[name] = fieldSchema(field, referenced);
  return { type: 'object', properties };
}

/** The Go package holding a group version's types, as the API server names its components. */
export function componentPackage(group: string, version: string): string {
  if (group === '') return `io.k8s.api.core.${version}`;
  const short = group.replace(/\.k8s\.io$/, '').replace(/\.authorization$/, '');
  return `io.k8s.api.${short}.${version}`;
}

export interface KindRef {
  group: string;
  version: string;
  kind: string;
}

/**
 * The components of one group version's document: a schema per catalogued kind (tagged with its
 * group/version/kind), and every schema those reach. Kinds the catalogue lacks get none.
 */
export function componentSchemas(kinds: readonly KindRef[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const referenced = new Set<string>();
  for (const { group, version, kind } of kinds) {
    const fullName = `${componentPackage(group, version)}.${kind}`;
    const fields = FIELDS_BY_FULL_NAME.get(fullName);
    if (fields === undefined) continue;
    const schema = structSchema({ apiVersion: 'string', kind: 'string', metadata: 'ObjectMeta', ...fields }, referenced);
    out[fullName] = { ...schema, 'x-kubernetes-group-version-kind': [{ group, kind, version }] };
  }
  const queue = [...referenced];
  while (queue.length > 0) {
    const fullName = queue.pop()!;
    if (fullName in out) continue;
    if (fullName === INT_OR_STRING) {
      out[fullName] = { type: 'string', format: 'int-or-string' };
      continue;
    }
    const nested = new Set<string>();
    out[fullName] = structSchema(FIELDS_BY_FULL_NAME.get(fullName)!, nested);
    for (const name of nested) if (!(name in out)) queue.push(name);
  }
  return out;
}

// A type named but not declared would only fail on the first document that reaches it: fail at load instead.
for (const fields of FIELDS_BY_FULL_NAME.values()) {
  for (const field of Object.values(fields)) {
    const type = (typeof field === 'string' ? field : field[0]).replace(/^\[\]/, '');
    if (!SCALARS.has(type) && !['map', 'object', 'IntOrString'].includes(type) && !FULL_NAMES.has(type)) throw new Error(`sim OpenAPI: unknown type ${type}`);
  }
}
