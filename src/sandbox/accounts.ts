/** The fixed test accounts a newcomer can "sign in" as on the consent page. Nothing here is a real person's data. */
export interface SandboxAccount {
  id: string;
  login: string;
  name: string;
  email: string;
}

export const SANDBOX_ACCOUNTS: readonly SandboxAccount[] = [
  { id: '1001', login: 'ada', name: 'Ada Lovelace', email: 'ada@sandbox.example' },
  { id: '1002', login: 'grace', name: 'Grace Hopper', email: 'grace@sandbox.example' },
  { id: '1003', login: 'alan', name: 'Alan Turing', email: 'alan@sandbox.example' },
];

export function findAccount(login: string): SandboxAccount | undefined {
  return SANDBOX_ACCOUNTS.find((account) => account.login === login);
}
