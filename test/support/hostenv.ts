// The host test environment is the @videoflix/hostenv workspace (packages/hostenv); this path stays for the tests.
export * from '@videoflix/hostenv';
