// The reference handler, as the Cognito documentation writes it: decrypt
// request.code with the AWS Encryption SDK (KMS keyring, commitment policy
// REQUIRE_ENCRYPT_ALLOW_DECRYPT), then enqueue to SQS. Endpoints come from
// AWS_ENDPOINT_URL_KMS / AWS_ENDPOINT_URL_SQS like the Go function's.
const b64 = require('base64-js');
const encryptionSdk = require('@aws-crypto/client-node');
const { SQSClient, SendMessageCommand } = require('@aws-sdk/client-sqs');

const { decrypt } = encryptionSdk.buildClient(encryptionSdk.CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
const keyring = new encryptionSdk.KmsKeyringNode({ keyIds: [process.env.KEY_ARN] });
const sqs = new SQSClient({});

exports.handler = async (event) => {
  let plainTextCode;
  if (event.request.code) {
    const { plaintext, messageHeader } = await decrypt(keyring, b64.toByteArray(event.request.code));
    if (messageHeader.encryptionContext['userpool-id'] !== event.userPoolId) {
      throw new Error('encryption context does not match the user pool');
    }
    plainTextCode = plaintext.toString();
  }
  await sqs.send(new SendMessageCommand({
    QueueUrl: process.env.QUEUE_URL,
    MessageBody: JSON.stringify({ trigger: event.triggerSource, to: event.request.userAttributes.email, length: plainTextCode ? plainTextCode.length : 0 }),
  }));
  return {};
};
