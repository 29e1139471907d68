/** The bare baselines' one activity: nothing at all. */
export const bareActivities = {
  async noop(): Promise<void> {},
};

export type BareActivities = typeof bareActivities;
