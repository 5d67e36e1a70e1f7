/** The current instant in ms. One place, so the decision code itself takes `now` as an argument. */
export const currentTime = (): number => Date.now();
