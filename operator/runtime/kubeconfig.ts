/** The platform's one kubeconfig loader lives in common/kube/config.ts; the runtime imports it from here. */
export { loadKubeConfig, shareAgents } from '../../common/kube/config.js';
