// The workflow bundle's entry: every workflow type the worker registers.
export { invoiceDunning } from './invoice-dunning';
export { customerConversation } from './customer-conversation';
