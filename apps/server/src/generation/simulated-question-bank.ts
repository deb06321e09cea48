/**
 * Curated vocabulary for the simulated generator: a few common conditions, each with the pieces a
 * medical-school question is built from (presentation, findings, and three question facets with
 * one correct answer and plausible distractors). Small on purpose; the text is written to read like
 * real exam items, and every facet has at least four distractors so any four make five options.
 */

export type QuestionFacet = "investigation" | "management" | "mechanism";

export interface FacetEntry {
  readonly answer: string;
  readonly distractors: readonly string[];
  readonly explanation: string;
}

export interface ConditionEntry {
  /** Lower case, as it reads mid-sentence. */
  readonly name: string;
  readonly domains: readonly string[];
  /** Word prefixes that make a topic about this condition in particular. */
  readonly keywords: readonly string[];
  readonly ageRange: readonly [number, number];
  readonly sex: "male" | "female" | "any";
  readonly setting: string;
  /** Complete phrases: "a 2-hour history". */
  readonly durations: readonly string[];
  /** The first two are the most characteristic and are always shown. */
  readonly symptoms: readonly string[];
  /** Predicates that follow "He" or "She": "had a total hip replacement 2 weeks ago". */
  readonly history: readonly string[];
  /** Clauses without pronouns, so they fit any patient: "the pulse is 58/min". */
  readonly signs: readonly string[];
  /** The first result is the discriminating one and is shown whenever the diagnosis is asked. */
  readonly results: readonly string[];
  readonly differentials: readonly string[];
  readonly diagnosisExplanation: string;
  readonly facets: Readonly<Record<QuestionFacet, FacetEntry>>;
}

/** Topic word prefixes for each domain, checked after the condition keywords. */
export const DOMAIN_KEYWORDS: Readonly<Record<string, readonly string[]>> = {
  cardiology: [
    "cardio",
    "cardiac",
    "heart",
    "coronary",
    "myocard",
    "arrhythm",
    "atrial",
    "angina",
    "ecg",
    "electrocardio",
  ],
  respiratory: [
    "respir",
    "pulmon",
    "lung",
    "chest",
    "breath",
    "pneumon",
    "thorac",
  ],
  endocrinology: [
    "endocrin",
    "diabet",
    "thyroid",
    "insulin",
    "hormon",
    "metabol",
  ],
  gastroenterology: [
    "gastro",
    "abdom",
    "surg",
    "bowel",
    "digest",
    "acute abdomen",
  ],
  haematology: ["haemat", "hemat", "anaem", "anem", "blood", "iron"],
  neurology: ["neuro", "brain", "cerebr", "headache", "nervous"],
  infection: [
    "infect",
    "microbio",
    "antibio",
    "antimicrob",
    "sepsis",
    "bacter",
    "fever",
  ],
  emergency: ["emergenc", "acute medicine", "resuscitat", "critical care"],
};

export const CONDITIONS: readonly ConditionEntry[] = [
  {
    name: "acute inferior ST-elevation myocardial infarction",
    domains: ["cardiology", "emergency"],
    keywords: [
      "myocardial infarction",
      "stemi",
      "acute coronary",
      "heart attack",
      "infarct",
    ],
    ageRange: [50, 78],
    sex: "male",
    setting: "the emergency department",
    durations: ["a 45-minute history", "a 1-hour history", "a 2-hour history"],
    symptoms: [
      "central crushing chest pain radiating to the left arm",
      "sweating",
      "nausea",
      "breathlessness",
    ],
    history: [
      "has type 2 diabetes mellitus and hypertension",
      "has a 30-pack-year smoking history",
      "has hypercholesterolaemia and smokes 20 cigarettes a day",
    ],
    signs: [
      "the pulse is 58/min and regular",
      "the blood pressure is 104/68 mmHg",
      "the skin is pale and clammy",
    ],
    results: [
      "a 12-lead ECG shows ST-segment elevation in leads II, III and aVF",
      "the high-sensitivity troponin is raised",
    ],
    differentials: [
      "aortic dissection",
      "acute pericarditis",
      "pulmonary embolism",
      "stable angina",
      "gastro-oesophageal reflux disease",
      "unstable angina",
    ],
    diagnosisExplanation:
      "Ischaemic chest pain with autonomic features and ST elevation in the inferior leads (II, III and aVF) indicates an inferior STEMI, usually from occlusion of the right coronary artery; bradycardia reflects ischaemia of the nodal tissue it supplies.",
    facets: {
      investigation: {
        answer: "12-lead electrocardiogram",
        distractors: [
          "chest radiograph",
          "transthoracic echocardiogram",
          "CT pulmonary angiogram",
          "exercise tolerance test",
          "D-dimer",
        ],
        explanation:
          "A 12-lead ECG within 10 minutes of arrival identifies ST elevation and decides reperfusion; troponin confirms myocardial injury but must not delay reperfusion.",
      },
      management: {
        answer: "primary percutaneous coronary intervention",
        distractors: [
          "intravenous unfractionated heparin alone",
          "oral beta-blocker and discharge with outpatient follow-up",
          "elective coronary artery bypass grafting",
          "CT coronary angiography",
          "fibrinolysis 24 hours after the onset of pain",
        ],
        explanation:
          "Primary PCI, with dual antiplatelet therapy, is the reperfusion of choice when it can be delivered within 120 minutes of the time fibrinolysis could have been given; fibrinolysis is the alternative within 12 hours of onset when it cannot.",
      },
      mechanism: {
        answer:
          "rupture of an atherosclerotic plaque with an occlusive thrombus in a coronary artery",
        distractors: [
          "coronary artery vasospasm without atherosclerosis",
          "a tear in the intima of the ascending aorta",
          "inflammation of the pericardium",
          "embolic occlusion of a pulmonary artery",
          "a fixed coronary stenosis causing demand ischaemia",
        ],
        explanation:
          "Most STEMIs follow rupture or erosion of a lipid-rich plaque; platelet activation and the coagulation cascade form a fully occlusive thrombus that causes transmural ischaemia.",
      },
    },
  },
  {
    name: "atrial fibrillation",
    domains: ["cardiology"],
    keywords: [
      "atrial fibrillation",
      "fibrillation",
      "palpitation",
      "anticoagula",
    ],
    ageRange: [65, 86],
    sex: "any",
    setting: "the emergency department",
    durations: ["a 2-day history", "a 3-day history", "a 1-week history"],
    symptoms: [
      "palpitations",
      "breathlessness on exertion",
      "light-headedness",
      "fatigue",
    ],
    history: [
      "has hypertension",
      "has hypertension and type 2 diabetes mellitus",
    ],
    signs: [
      "the pulse is 128/min and irregularly irregular",
      "the blood pressure is 132/84 mmHg",
      "there are no murmurs",
    ],
    results: [
      "an ECG shows an irregularly irregular narrow-complex tachycardia with no discernible P waves",
      "thyroid function tests are normal",
    ],
    differentials: [
      "atrial flutter with 2:1 block",
      "sinus tachycardia",
      "multifocal atrial tachycardia",
      "ventricular tachycardia",
      "atrioventricular nodal re-entrant tachycardia",
    ],
    diagnosisExplanation:
      "An irregularly irregular pulse with a narrow-complex tachycardia and no P waves is atrial fibrillation; atrial flutter is usually regular with sawtooth flutter waves.",
    facets: {
      investigation: {
        answer: "12-lead electrocardiogram",
        distractors: [
          "24-hour ambulatory blood pressure monitoring",
          "chest radiograph",
          "serum troponin",
          "exercise tolerance test",
          "coronary angiography",
        ],
        explanation:
          "Atrial fibrillation is confirmed on a 12-lead ECG (or a rhythm strip) showing an irregularly irregular rhythm without P waves; thyroid function and an echocardiogram then look for a cause.",
      },
      management: {
        answer:
          "rate control with a beta-blocker and anticoagulation guided by the CHA2DS2-VASc score",
        distractors: [
          "intravenous adenosine",
          "aspirin monotherapy for stroke prevention",
          "oral amiodarone without anticoagulation",
          "urgent permanent pacemaker insertion",
          "immediate DC cardioversion without anticoagulation",
        ],
        explanation:
          "In a haemodynamically stable patient with atrial fibrillation of uncertain duration, rate control with a beta-blocker or a rate-limiting calcium-channel blocker comes first, and the CHA2DS2-VASc score guides anticoagulation with a DOAC; aspirin does not prevent stroke in AF, and cardioversion after 48 hours needs prior anticoagulation.",
      },
      mechanism: {
        answer:
          "multiple re-entrant wavelets and ectopic foci, often arising around the pulmonary veins",
        distractors: [
          "a single macro-re-entrant circuit around the tricuspid annulus",
          "an accessory pathway bypassing the atrioventricular node",
          "enhanced automaticity of the sinoatrial node",
          "a re-entrant circuit within the atrioventricular node",
          "delayed conduction through the bundle of His",
        ],
        explanation:
          "Atrial fibrillation is triggered by ectopic foci, frequently in the pulmonary vein sleeves, and maintained by multiple chaotic re-entrant wavelets; atrial dilatation and fibrosis perpetuate it.",
      },
    },
  },
  {
    name: "heart failure with reduced ejection fraction",
    domains: ["cardiology"],
    keywords: [
      "heart failure",
      "cardiac failure",
      "ejection fraction",
      "cardiomyopath",
      "oedema",
      "edema",
    ],
    ageRange: [64, 86],
    sex: "any",
    setting: "the general practice surgery",
    durations: ["a 3-week history", "a 2-month history", "a 6-week history"],
    symptoms: [
      "progressive breathlessness on exertion",
      "orthopnoea",
      "paroxysmal nocturnal dyspnoea",
      "ankle swelling",
    ],
    history: [
      "had a myocardial infarction 3 years ago",
      "had a myocardial infarction 3 years ago and has hypertension",
    ],
    signs: [
      "the jugular venous pressure is raised",
      "there are fine bibasal crackles",
      "there is pitting oedema to the mid-shins",
      "a third heart sound is heard",
    ],
    results: [
      "an echocardiogram shows a dilated left ventricle with an ejection fraction of 30%",
      "the NT-proBNP is 2,400 ng/L",
    ],
    differentials: [
      "chronic obstructive pulmonary disease",
      "nephrotic syndrome",
      "idiopathic pulmonary fibrosis",
      "constrictive pericarditis",
      "liver cirrhosis",
    ],
    diagnosisExplanation:
      "Orthopnoea, paroxysmal nocturnal dyspnoea, a raised JVP, crackles, oedema and a third heart sound after a myocardial infarction, with an ejection fraction below 40%, indicate heart failure with reduced ejection fraction.",
    facets: {
      investigation: {
        answer: "transthoracic echocardiogram",
        distractors: [
          "coronary angiography",
          "spirometry",
          "CT pulmonary angiogram",
          "exercise tolerance test",
          "serum albumin",
        ],
        explanation:
          "A raised NT-proBNP prompts transthoracic echocardiography, which confirms the diagnosis and measures the ejection fraction that decides treatment.",
      },
      management: {
        answer:
          "a loop diuretic for congestion, plus an ACE inhibitor and a beta-blocker",
        distractors: [
          "verapamil to slow the heart rate",
          "pioglitazone",
          "a non-steroidal anti-inflammatory drug for the ankle swelling",
          "intravenous fluid",
          "digoxin as first-line monotherapy",
        ],
        explanation:
          "A loop diuretic relieves congestion; treatment that improves survival starts with an ACE inhibitor (or an angiotensin receptor–neprilysin inhibitor) and a beta-blocker, then adds a mineralocorticoid receptor antagonist and an SGLT2 inhibitor. Verapamil, pioglitazone and NSAIDs make heart failure worse.",
      },
      mechanism: {
        answer:
          "impaired left ventricular contraction with renin–angiotensin–aldosterone and sympathetic activation causing salt and water retention",
        distractors: [
          "a stiff ventricle with normal contraction",
          "obstruction of the pulmonary arteries by thrombus",
          "hypoalbuminaemia from urinary protein loss",
          "a thickened pericardium restricting ventricular filling",
          "portal hypertension with secondary hyperaldosteronism",
        ],
        explanation:
          "Scarred myocardium contracts poorly; the fall in cardiac output activates the renin–angiotensin–aldosterone and sympathetic systems, which retain salt and water and raise filling pressures, causing pulmonary and peripheral oedema.",
      },
    },
  },
  {
    name: "community-acquired pneumonia",
    domains: ["respiratory", "infection"],
    keywords: [
      "pneumonia",
      "chest infection",
      "lower respiratory tract infection",
      "consolidation",
    ],
    ageRange: [25, 72],
    sex: "any",
    setting: "the emergency department",
    durations: ["a 3-day history", "a 4-day history", "a 5-day history"],
    symptoms: [
      "a cough productive of rust-coloured sputum",
      "fever with rigors",
      "right-sided pleuritic chest pain",
      "breathlessness",
    ],
    history: [
      "has no significant past medical history",
      "has well-controlled asthma",
    ],
    signs: [
      "the temperature is 38.9°C",
      "there is dullness to percussion and bronchial breathing at the right base",
      "the respiratory rate is 24/min",
      "the oxygen saturation is 93% on room air",
    ],
    results: [
      "a chest radiograph shows consolidation of the right lower lobe",
      "the C-reactive protein is 210 mg/L",
    ],
    differentials: [
      "pulmonary embolism",
      "acute bronchitis",
      "lung cancer",
      "pulmonary tuberculosis",
      "spontaneous pneumothorax",
      "acute exacerbation of asthma",
    ],
    diagnosisExplanation:
      "Fever, productive cough, pleuritic pain and focal signs of consolidation (dullness and bronchial breathing) with lobar consolidation on the radiograph indicate community-acquired pneumonia.",
    facets: {
      investigation: {
        answer: "chest radiograph",
        distractors: [
          "CT pulmonary angiogram",
          "spirometry",
          "bronchoscopy",
          "D-dimer",
          "sputum smear for acid-fast bacilli",
        ],
        explanation:
          "A chest radiograph confirms consolidation and is needed to diagnose pneumonia; the CURB-65 score then guides where and how to treat.",
      },
      management: {
        answer:
          "antibiotics chosen by CURB-65 severity, such as oral amoxicillin for low-severity disease",
        distractors: [
          "oral prednisolone alone",
          "no antibiotics and review in 2 weeks",
          "intravenous aciclovir",
          "a direct oral anticoagulant",
          "nebulised salbutamol alone",
        ],
        explanation:
          "CURB-65 (confusion, urea above 7 mmol/L, respiratory rate of 30/min or more, systolic pressure below 90 or diastolic 60 mmHg or less, age 65 or over) guides the setting and the antibiotic; low-severity pneumonia is treated with oral amoxicillin.",
      },
      mechanism: {
        answer:
          "bacterial infection of the alveoli, most often by Streptococcus pneumoniae, filling them with inflammatory exudate",
        distractors: [
          "obstruction of a pulmonary artery by thrombus",
          "reversible bronchoconstriction from airway hyperresponsiveness",
          "air in the pleural space collapsing the lung",
          "destruction of alveolar walls from protease–antiprotease imbalance",
          "caseating granulomatous inflammation from Mycobacterium tuberculosis",
        ],
        explanation:
          "Streptococcus pneumoniae is the commonest cause; exudate filling the alveoli produces consolidation, which explains the bronchial breathing, the dullness and the radiographic opacity.",
      },
    },
  },
  {
    name: "pulmonary embolism",
    domains: ["respiratory", "emergency"],
    keywords: [
      "pulmonary embol",
      "embolism",
      "thrombo",
      "venous thrombo",
      "dvt",
      "anticoagula",
    ],
    ageRange: [30, 72],
    sex: "any",
    setting: "the emergency department",
    durations: ["a 6-hour history", "a 1-day history", "a 12-hour history"],
    symptoms: [
      "sudden-onset breathlessness",
      "left-sided pleuritic chest pain",
      "haemoptysis",
    ],
    history: [
      "had a total hip replacement 2 weeks ago",
      "returned from a 14-hour flight 4 days ago",
    ],
    signs: [
      "the heart rate is 112/min",
      "the oxygen saturation is 90% on room air",
      "the chest is clear on auscultation",
      "the left calf is swollen and tender",
    ],
    results: [
      "a CT pulmonary angiogram shows a filling defect in the right main pulmonary artery",
      "an ECG shows sinus tachycardia",
    ],
    differentials: [
      "community-acquired pneumonia",
      "spontaneous pneumothorax",
      "acute myocardial infarction",
      "acute pericarditis",
      "aortic dissection",
      "acute exacerbation of asthma",
    ],
    diagnosisExplanation:
      "Sudden breathlessness, pleuritic pain, tachycardia and hypoxaemia with a clear chest after surgery or immobility, and a filling defect on CT pulmonary angiography, indicate pulmonary embolism.",
    facets: {
      investigation: {
        answer: "CT pulmonary angiogram",
        distractors: [
          "chest radiograph",
          "spirometry",
          "transthoracic echocardiogram",
          "serum troponin",
          "bronchoscopy",
        ],
        explanation:
          "With a likely two-level Wells score (above 4), CT pulmonary angiography confirms the diagnosis; D-dimer is used to rule out embolism only when the Wells score makes it unlikely.",
      },
      management: {
        answer:
          "anticoagulation with a direct oral anticoagulant such as apixaban",
        distractors: [
          "thrombolysis with alteplase",
          "aspirin alone",
          "intravenous antibiotics",
          "insertion of an inferior vena cava filter",
          "surgical embolectomy",
        ],
        explanation:
          "A haemodynamically stable pulmonary embolism is treated with anticoagulation, usually a DOAC such as apixaban or rivaroxaban; thrombolysis is reserved for massive embolism with hypotension, and a caval filter for patients who cannot be anticoagulated.",
      },
      mechanism: {
        answer:
          "thrombus from the deep veins of the leg lodging in the pulmonary arteries, causing ventilation–perfusion mismatch",
        distractors: [
          "alveolar consolidation from bacterial infection",
          "air in the pleural space collapsing the lung",
          "bronchospasm from airway inflammation",
          "left ventricular failure with pulmonary oedema",
          "rupture of an atherosclerotic coronary plaque",
        ],
        explanation:
          "Most emboli come from a deep vein thrombosis (Virchow's triad: stasis, endothelial injury, hypercoagulability); lung that is ventilated but not perfused causes hypoxaemia and, if the clot is large, right ventricular strain.",
      },
    },
  },
  {
    name: "acute severe asthma",
    domains: ["respiratory", "emergency"],
    keywords: ["asthma", "wheez", "bronchospasm", "airway"],
    ageRange: [18, 40],
    sex: "any",
    setting: "the emergency department",
    durations: ["a 1-day history", "a 2-day history", "a 12-hour history"],
    symptoms: [
      "worsening wheeze",
      "breathlessness",
      "a cough that is worse at night",
      "chest tightness",
    ],
    history: [
      "has asthma treated with an inhaled corticosteroid and has had a cold this week",
      "has asthma and rarely uses the prescribed inhaled corticosteroid",
    ],
    signs: [
      "the respiratory rate is 28/min",
      "sentences cannot be completed in one breath",
      "there is widespread polyphonic wheeze",
      "the heart rate is 115/min",
    ],
    results: [
      "the peak expiratory flow is 45% of the patient's best",
      "arterial blood gas shows a PaO2 of 9.5 kPa and a PaCO2 of 4.1 kPa",
    ],
    differentials: [
      "anaphylaxis",
      "spontaneous pneumothorax",
      "acute exacerbation of chronic obstructive pulmonary disease",
      "pulmonary embolism",
      "acute left ventricular failure",
    ],
    diagnosisExplanation:
      "Wheeze with a peak flow of 33–50% of best, a respiratory rate of 25/min or more, a heart rate of 110/min or more, or inability to complete sentences defines acute severe asthma; a normal or raised PaCO2 would make it life-threatening.",
    facets: {
      investigation: {
        answer:
          "peak expiratory flow compared with the patient's best or predicted value",
        distractors: [
          "CT pulmonary angiogram",
          "serum total IgE",
          "skin prick testing",
          "sputum culture",
          "D-dimer",
        ],
        explanation:
          "Peak expiratory flow as a percentage of best or predicted grades the severity of an acute attack at the bedside; allergy testing and IgE have no role in the acute setting.",
      },
      management: {
        answer:
          "oxygen to target saturations, nebulised salbutamol and oral prednisolone",
        distractors: [
          "intravenous antibiotics",
          "a long-acting beta2-agonist alone",
          "intravenous furosemide",
          "oral montelukast alone",
          "a benzodiazepine for anxiety",
        ],
        explanation:
          "Acute severe asthma is treated with oxygen to saturations of 94–98%, high-dose nebulised salbutamol (with ipratropium) and prednisolone 40–50 mg; intravenous magnesium is considered if the response is poor. Sedatives are contraindicated.",
      },
      mechanism: {
        answer:
          "reversible airway narrowing from smooth-muscle contraction, mucosal oedema and mucus plugging driven by type 2 inflammation",
        distractors: [
          "irreversible destruction of alveolar walls",
          "a foreign body obstructing the upper airway",
          "air in the pleural space collapsing the lung",
          "alveolar flooding from raised left atrial pressure",
          "systemic mast-cell degranulation with vasodilatation and hypotension",
        ],
        explanation:
          "Airway hyperresponsiveness and eosinophilic (type 2) inflammation cause bronchial smooth-muscle contraction, mucosal oedema and mucus plugs; the narrowing is reversible, unlike the fixed obstruction of COPD.",
      },
    },
  },
  {
    name: "diabetic ketoacidosis",
    domains: ["endocrinology", "emergency"],
    keywords: [
      "ketoacidosis",
      "dka",
      "type 1 diabetes",
      "hyperglycaem",
      "hyperglycem",
      "ketone",
    ],
    ageRange: [16, 30],
    sex: "any",
    setting: "the emergency department",
    durations: ["a 2-day history", "a 3-day history", "a 1-day history"],
    symptoms: [
      "abdominal pain and vomiting",
      "polyuria and polydipsia",
      "drowsiness",
      "weight loss over several weeks",
    ],
    history: [
      "has type 1 diabetes mellitus and has missed insulin doses during a viral illness",
      "has no significant past medical history",
    ],
    signs: [
      "there are deep, sighing respirations at 28/min",
      "the heart rate is 118/min",
      "the mucous membranes are dry",
      "the breath smells of pear drops",
    ],
    results: [
      "the capillary glucose is 28 mmol/L, blood ketones are 5.2 mmol/L and the venous pH is 7.12",
      "the venous bicarbonate is 9 mmol/L",
    ],
    differentials: [
      "hyperosmolar hyperglycaemic state",
      "alcoholic ketoacidosis",
      "acute pancreatitis",
      "viral gastroenteritis",
      "lactic acidosis from sepsis",
    ],
    diagnosisExplanation:
      "Hyperglycaemia (above 11 mmol/L or known diabetes), ketonaemia of 3 mmol/L or more and acidosis (pH below 7.3 or bicarbonate below 15 mmol/L) define diabetic ketoacidosis; Kussmaul breathing is respiratory compensation.",
    facets: {
      investigation: {
        answer: "blood ketone measurement with a venous blood gas",
        distractors: [
          "HbA1c",
          "serum amylase",
          "abdominal ultrasound",
          "oral glucose tolerance test",
          "urine culture",
        ],
        explanation:
          "Blood ketones and a venous gas (pH and bicarbonate) confirm diabetic ketoacidosis and are repeated to follow its resolution; HbA1c reflects the previous three months, not the acute state.",
      },
      management: {
        answer:
          "intravenous 0.9% sodium chloride and a fixed-rate intravenous insulin infusion, with potassium replacement",
        distractors: [
          "subcutaneous rapid-acting insulin and discharge",
          "intravenous sodium bicarbonate as first-line treatment",
          "oral metformin",
          "intravenous 50% glucose",
          "a variable-rate insulin infusion without intravenous fluid",
        ],
        explanation:
          "Fluid resuscitation with 0.9% sodium chloride comes first, then a fixed-rate insulin infusion at 0.1 units/kg/h; insulin drives potassium into cells, so potassium is monitored and replaced. Bicarbonate is not routine.",
      },
      mechanism: {
        answer:
          "absolute insulin deficiency causing unrestrained lipolysis and hepatic ketogenesis",
        distractors: [
          "insulin resistance with enough insulin secretion to prevent ketosis",
          "ethanol metabolism depleting NAD+ during starvation",
          "autodigestion of the pancreas by activated enzymes",
          "tissue hypoperfusion producing lactate",
          "excess cortisol from an adrenal adenoma",
        ],
        explanation:
          "Without insulin, unopposed glucagon drives lipolysis and the liver turns free fatty acids into ketone bodies, causing a high anion gap metabolic acidosis, while hyperglycaemia causes an osmotic diuresis and dehydration.",
      },
    },
  },
  {
    name: "primary hypothyroidism due to Hashimoto's thyroiditis",
    domains: ["endocrinology"],
    keywords: [
      "hypothyroid",
      "thyroid",
      "hashimoto",
      "levothyroxine",
      "goitre",
      "goiter",
    ],
    ageRange: [35, 65],
    sex: "female",
    setting: "the general practice surgery",
    durations: ["a 4-month history", "a 6-month history", "a 3-month history"],
    symptoms: ["tiredness", "weight gain", "cold intolerance", "constipation"],
    history: [
      "has a family history of autoimmune thyroid disease",
      "has vitiligo",
    ],
    signs: [
      "the skin is dry",
      "the pulse is 54/min",
      "the ankle reflexes relax slowly",
      "there is a diffuse, painless goitre",
    ],
    results: [
      "the TSH is 18 mU/L with a low free T4",
      "thyroid peroxidase antibodies are positive",
    ],
    differentials: [
      "depression",
      "iron-deficiency anaemia",
      "Graves' disease",
      "Cushing's syndrome",
      "Addison's disease",
    ],
    diagnosisExplanation:
      "Tiredness, weight gain, cold intolerance, bradycardia and slow-relaxing reflexes with a raised TSH and low free T4 indicate primary hypothyroidism; positive anti-TPO antibodies and a diffuse goitre point to Hashimoto's thyroiditis.",
    facets: {
      investigation: {
        answer: "serum TSH and free T4",
        distractors: [
          "thyroid ultrasound",
          "radioactive iodine uptake scan",
          "9 am serum cortisol",
          "fine-needle aspiration of the thyroid",
          "serum calcitonin",
        ],
        explanation:
          "A raised TSH with a low free T4 confirms primary hypothyroidism; imaging is not needed for a diffuse goitre, and anti-TPO antibodies support an autoimmune cause.",
      },
      management: {
        answer: "oral levothyroxine titrated against the TSH",
        distractors: [
          "carbimazole",
          "radioactive iodine",
          "total thyroidectomy",
          "oral hydrocortisone",
          "liothyronine as first-line monotherapy",
        ],
        explanation:
          "Levothyroxine replacement is adjusted against the TSH every 6–8 weeks until stable, starting at a low dose in older patients and in those with ischaemic heart disease.",
      },
      mechanism: {
        answer:
          "autoimmune destruction of the thyroid with lymphocytic infiltration",
        distractors: [
          "antibodies that stimulate the TSH receptor",
          "a TSH-secreting pituitary adenoma",
          "granulomatous inflammation after a viral infection",
          "a mutation in the RET proto-oncogene",
          "iodine excess driving thyroid hyperfunction",
        ],
        explanation:
          "Hashimoto's thyroiditis is a T-cell–mediated autoimmune destruction of the gland with anti-TPO and anti-thyroglobulin antibodies; hormone output falls and the TSH rises in compensation.",
      },
    },
  },
  {
    name: "acute appendicitis",
    domains: ["gastroenterology", "emergency"],
    keywords: ["appendic", "appendix", "right iliac fossa", "acute abdomen"],
    ageRange: [18, 35],
    sex: "male",
    setting: "the emergency department",
    durations: ["a 1-day history", "an 18-hour history", "a 2-day history"],
    symptoms: [
      "central abdominal pain that has moved to the right iliac fossa",
      "loss of appetite",
      "nausea",
      "a low-grade fever",
    ],
    history: ["has no significant past medical history"],
    signs: [
      "there is tenderness and guarding in the right iliac fossa",
      "the temperature is 37.9°C",
      "pressing in the left iliac fossa causes pain in the right iliac fossa",
    ],
    results: [
      "the white cell count is 15 × 10^9/L with a neutrophilia",
      "the C-reactive protein is 68 mg/L",
    ],
    differentials: [
      "mesenteric adenitis",
      "Meckel's diverticulitis",
      "right ureteric colic",
      "Crohn's disease",
      "viral gastroenteritis",
    ],
    diagnosisExplanation:
      "Periumbilical pain migrating to the right iliac fossa with anorexia, localised guarding, Rovsing's sign and a neutrophilia is the classic presentation of acute appendicitis.",
    facets: {
      investigation: {
        answer: "CT of the abdomen and pelvis",
        distractors: [
          "plain abdominal radiograph",
          "upper gastrointestinal endoscopy",
          "colonoscopy",
          "serum amylase",
          "barium enema",
        ],
        explanation:
          "When imaging is needed in an adult, CT of the abdomen and pelvis is the most accurate test; ultrasound is preferred in children and in pregnancy, and plain films and endoscopy have no role.",
      },
      management: {
        answer: "laparoscopic appendicectomy with perioperative antibiotics",
        distractors: [
          "oral antibiotics and discharge",
          "a proton pump inhibitor",
          "colonoscopy within 2 weeks",
          "observation without treatment for 48 hours",
          "right hemicolectomy",
        ],
        explanation:
          "Laparoscopic appendicectomy with antibiotic cover is the standard treatment; delay raises the risk of perforation and peritonitis.",
      },
      mechanism: {
        answer:
          "obstruction of the appendiceal lumen, usually by a faecolith, leading to distension, ischaemia and bacterial invasion",
        distractors: [
          "inflammation of mesenteric lymph nodes after a viral infection",
          "transmural granulomatous inflammation of the terminal ileum",
          "a calculus impacted in the ureter",
          "herniation of mucosa through the colonic wall",
          "ectopic gastric mucosa in an ileal diverticulum",
        ],
        explanation:
          "Luminal obstruction raises pressure in the appendix, impairs venous drainage and lets bacteria invade the wall; visceral pain is felt around the umbilicus until the inflamed appendix irritates the parietal peritoneum in the right iliac fossa.",
      },
    },
  },
  {
    name: "iron-deficiency anaemia",
    domains: ["haematology", "gastroenterology"],
    keywords: ["iron", "anaemia", "anemia", "microcyt", "ferritin"],
    ageRange: [55, 78],
    sex: "any",
    setting: "the general practice surgery",
    durations: ["a 3-month history", "a 2-month history", "a 4-month history"],
    symptoms: [
      "tiredness",
      "breathlessness on exertion",
      "a change in bowel habit",
      "weight loss",
    ],
    history: [
      "has no significant past medical history",
      "takes ibuprofen regularly for osteoarthritis",
    ],
    signs: [
      "the conjunctivae are pale",
      "the nails are spoon-shaped",
      "the abdomen is soft and non-tender",
    ],
    results: [
      "the haemoglobin is 92 g/L with a mean cell volume of 71 fL and a serum ferritin of 8 µg/L",
      "the platelet count is mildly raised",
    ],
    differentials: [
      "anaemia of chronic disease",
      "beta-thalassaemia trait",
      "vitamin B12 deficiency",
      "sideroblastic anaemia",
      "folate deficiency",
    ],
    diagnosisExplanation:
      "A microcytic, hypochromic anaemia with a low ferritin is iron deficiency; in an older adult with a change in bowel habit it demands investigation for gastrointestinal blood loss, including colorectal cancer.",
    facets: {
      investigation: {
        answer: "serum ferritin",
        distractors: [
          "serum vitamin B12",
          "haemoglobin electrophoresis",
          "bone marrow aspirate",
          "direct antiglobulin (Coombs) test",
          "serum folate",
        ],
        explanation:
          "A low serum ferritin is the most specific blood test for iron deficiency; ferritin is an acute-phase protein, so a normal value does not exclude it during inflammation.",
      },
      management: {
        answer:
          "oral ferrous sulfate and investigation of the gastrointestinal tract for blood loss",
        distractors: [
          "intramuscular hydroxocobalamin",
          "red cell transfusion",
          "oral folic acid alone",
          "oral iron without further investigation",
          "splenectomy",
        ],
        explanation:
          "Iron is replaced orally, but in an adult man or a postmenopausal woman iron deficiency is gastrointestinal blood loss until proven otherwise, so upper and lower gastrointestinal investigation is needed.",
      },
      mechanism: {
        answer:
          "depleted iron stores limiting haem synthesis, producing small, pale red cells",
        distractors: [
          "impaired DNA synthesis producing large red-cell precursors",
          "reduced globin-chain synthesis from a gene mutation",
          "iron sequestered in macrophages by hepcidin during inflammation",
          "antibody-mediated destruction of red cells",
          "defective incorporation of iron into protoporphyrin with ring sideroblasts",
        ],
        explanation:
          "Without iron, haem synthesis is limited, so red cells are microcytic and hypochromic; ferritin, the storage form, falls first, before the haemoglobin.",
      },
    },
  },
  {
    name: "bacterial meningitis",
    domains: ["neurology", "infection", "emergency"],
    keywords: [
      "meningit",
      "mening",
      "meningococc",
      "cerebrospinal",
      "lumbar puncture",
    ],
    ageRange: [18, 24],
    sex: "any",
    setting: "the emergency department",
    durations: ["a 12-hour history", "an 8-hour history", "a 1-day history"],
    symptoms: [
      "severe headache",
      "fever",
      "neck stiffness",
      "photophobia",
      "vomiting",
    ],
    history: [
      "has no significant past medical history and lives in a university hall of residence",
    ],
    signs: [
      "the temperature is 39.4°C",
      "Kernig's sign is positive",
      "there is a non-blanching petechial rash on the trunk",
      "the Glasgow Coma Scale score is 14",
    ],
    results: [
      "the cerebrospinal fluid is turbid, with a raised neutrophil count, a low glucose and a high protein",
      "blood cultures grow Gram-negative diplococci",
    ],
    differentials: [
      "viral meningitis",
      "subarachnoid haemorrhage",
      "migraine",
      "herpes simplex encephalitis",
      "cerebral abscess",
    ],
    diagnosisExplanation:
      "Fever, headache, neck stiffness and photophobia with a neutrophilic CSF, a low CSF glucose and a high protein indicate bacterial meningitis; a non-blanching rash or Gram-negative diplococci point to Neisseria meningitidis.",
    facets: {
      investigation: {
        answer:
          "lumbar puncture for cerebrospinal fluid microscopy, culture, glucose and protein",
        distractors: [
          "electroencephalogram",
          "MRI of the spine",
          "throat swab for viral PCR",
          "carotid Doppler ultrasound",
          "serum creatine kinase",
        ],
        explanation:
          "CSF analysis confirms bacterial meningitis and identifies the organism; it must never delay antibiotics and is deferred when there are signs of raised intracranial pressure, shock or a spreading rash.",
      },
      management: {
        answer: "immediate intravenous ceftriaxone with dexamethasone",
        distractors: [
          "oral amoxicillin and review in 24 hours",
          "intravenous aciclovir alone",
          "lumbar puncture before any antibiotic is given",
          "oral ciprofloxacin alone",
          "analgesia and observation",
        ],
        explanation:
          "Suspected bacterial meningitis needs an intravenous third-generation cephalosporin at once (before the lumbar puncture if it would be delayed), with dexamethasone to reduce neurological complications; close contacts receive prophylaxis.",
      },
      mechanism: {
        answer:
          "bacterial invasion of the subarachnoid space causing purulent inflammation of the meninges",
        distractors: [
          "rupture of a berry aneurysm into the subarachnoid space",
          "viral infection of the temporal lobes",
          "trigeminovascular activation with cortical spreading depression",
          "a walled-off collection of pus within the brain parenchyma",
          "demyelination of the central nervous system",
        ],
        explanation:
          "Bacteria reach the subarachnoid space from the bloodstream; the inflammatory response in the meninges causes the headache and neck stiffness, and consumes CSF glucose, while meningococcal septicaemia causes the purpuric rash.",
      },
    },
  },
  {
    name: "acute ischaemic stroke in the left middle cerebral artery territory",
    domains: ["neurology", "emergency"],
    keywords: [
      "stroke",
      "cerebrovascular",
      "thrombolysis",
      "hemiparesis",
      "transient ischaemic",
      "cva",
    ],
    ageRange: [62, 86],
    sex: "any",
    setting: "the emergency department",
    durations: ["a 90-minute history", "a 1-hour history", "a 2-hour history"],
    symptoms: [
      "sudden weakness of the right arm and leg",
      "difficulty finding words",
      "a drooping of the right side of the face",
    ],
    history: [
      "has atrial fibrillation and is not anticoagulated",
      "has hypertension and atrial fibrillation",
    ],
    signs: [
      "there is a right hemiparesis with upper motor neurone facial weakness sparing the forehead",
      "there is an expressive dysphasia",
      "the blood pressure is 168/94 mmHg",
      "the capillary glucose is 6.2 mmol/L",
    ],
    results: [
      "a non-contrast CT of the head shows no haemorrhage",
      "an ECG shows atrial fibrillation",
    ],
    differentials: [
      "intracerebral haemorrhage",
      "hypoglycaemia",
      "Todd's paresis after a seizure",
      "chronic subdural haematoma",
      "Bell's palsy",
    ],
    diagnosisExplanation:
      "Sudden right-sided weakness with forehead-sparing facial palsy and dysphasia localises to the left middle cerebral artery territory; with haemorrhage excluded on CT and atrial fibrillation, a cardioembolic ischaemic stroke is most likely.",
    facets: {
      investigation: {
        answer: "non-contrast CT of the head",
        distractors: [
          "lumbar puncture",
          "electroencephalogram",
          "MRI of the cervical spine",
          "transthoracic echocardiogram",
          "carotid Doppler ultrasound as the first test",
        ],
        explanation:
          "An immediate non-contrast CT of the head excludes haemorrhage before thrombolysis; carotid imaging and echocardiography come later, to find the cause.",
      },
      management: {
        answer: "intravenous thrombolysis with alteplase",
        distractors: [
          "aspirin 300 mg before brain imaging",
          "immediate anticoagulation with a direct oral anticoagulant",
          "lowering the blood pressure below 120/80 mmHg",
          "intravenous dexamethasone",
          "carotid endarterectomy within the hour",
        ],
        explanation:
          "Within 4.5 hours of onset and with haemorrhage excluded, intravenous thrombolysis is given (with thrombectomy for a proximal large-vessel occlusion); anticoagulation for atrial fibrillation is usually delayed for days to weeks after a disabling stroke.",
      },
      mechanism: {
        answer:
          "occlusion of the middle cerebral artery by an embolus, here most likely from the left atrium",
        distractors: [
          "rupture of a small penetrating artery into the brain",
          "tearing of bridging veins",
          "post-ictal inhibition of the motor cortex",
          "demyelination of the corticospinal tract",
          "compression of the facial nerve in its canal",
        ],
        explanation:
          "In atrial fibrillation, thrombus forms in the left atrial appendage and embolises, most often to the middle cerebral artery; the ischaemic core is surrounded by a penumbra that reperfusion can still save.",
      },
    },
  },
];
