export { chooseContainer, describeContainer } from './choose-container.js';
export { runSession, type SessionIo, type SessionOutcome } from './session.js';
