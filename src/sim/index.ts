/** The Kubernetes API simulator: many virtual clusters on one port. */
export { startSim, type SimServer } from './sim-server.ts';
export { SIM_DEFAULTS, type SimOptions } from './sim-options.ts';
export { SimCluster } from './sim-cluster.ts';
export { seedSampleApps, type SampleAppsOptions } from './sample-apps.ts';
export { Churn, type ChurnOptions } from './churn.ts';
export { StatusError, type Status } from './status.ts';
export { FAIL_ANNOTATION } from './controllers/kubelet.ts';
