/**
 * One task of the study's worker pool: one design on one scenario. Loads both itself (a design
 * holds functions and cannot be posted) and returns the cell, which is plain data.
 */
import { studyCell, type StudyCell, type StudyOptions } from '../measure/study.ts';
import { loadDesign, loadScenario } from './load.ts';

export interface StudyTask {
  readonly design: string;
  readonly scenario: string;
  readonly options: StudyOptions;
}

export async function studyTask(task: StudyTask): Promise<StudyCell> {
  return studyCell(await loadDesign(task.design), loadScenario(task.scenario), task.options);
}
