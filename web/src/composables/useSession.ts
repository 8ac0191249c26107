import { ref } from 'vue';
import { Api, AuthRequired } from '../lib/api';
import { credentialFrom, loadCredential, saveCredential, type Credential } from '../lib/auth';

/** The credential (asked once, kept for the tab), the API with it, and the sign-in prompt. */
export function useSession() {
  const credential = ref<Credential | null>(loadCredential());
  const needAuth = ref(false);
  const refused = ref(false);
  const api = new Api(() => credential.value);

  /** Runs a load; a refusal of the credential it went out with opens the prompt. */
  async function guarded(work: () => Promise<void>) {
    const used = credential.value;
    try {
      await work();
    } catch (error) {
      // Not after one entered since: a slow answer to a wrong key must not reopen the prompt
      // once the right one was given.
      if (error instanceof AuthRequired && credential.value === used) askAgain();
    }
  }

  function askAgain() {
    refused.value = credential.value !== null;
    needAuth.value = true;
  }

  function signIn(value: string) {
    credential.value = credentialFrom(value);
    saveCredential(credential.value);
    needAuth.value = false;
    refused.value = false;
  }

  return { credential, needAuth, refused, api, guarded, askAgain, signIn };
}

export type Session = ReturnType<typeof useSession>;
