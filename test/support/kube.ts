// Moved to the testkit workspace (packages/testkit), shared with bench/; this path stays for the tests.
export * from '@videoflix/testkit/kube';
