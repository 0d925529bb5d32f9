// Package deploytest deploys the stack as AWS would, without an account:
// `make package`, AWS's SAM translator, create_stack on moto_server, then
// both bootstraps under AWS's Lambda Runtime Interface Emulator with the
// environment moto stored on each function. Its only content is the test
// (`make deploy-test`); docs/deploy.md says what it proves and what not.
package deploytest
