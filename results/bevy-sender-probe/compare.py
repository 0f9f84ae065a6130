"""Fixed default vs auto + start-up probe of the Bevy sender: MAE over the frames both streams
received (the probe stream starts later), and over frames >= 60 (past both streams' first GOP)."""
import csv, json, os, sys

OUT = sys.argv[1] if len(sys.argv) > 1 else 'bevy-sender-probe-out'
rows=[]
for scene in ['room','dof']:
    for br in ['1M','4M','16M']:
        d={}
        for mode in ['fixed','auto']:
            p=f'{OUT}/{scene}-{br}-{mode}/frames.csv'
            if not os.path.exists(p): continue
            d[mode]={int(r['frame']):float(r['mae_mm']) for r in csv.DictReader(open(p))}
            s=json.load(open(f'{OUT}/{scene}-{br}-{mode}/summary.json'))
            d[mode+'_sum']=s[0] if isinstance(s,list) else s
        if 'fixed' not in d or 'auto' not in d: continue
        common=sorted(set(d['fixed'])&set(d['auto']))
        mf=sum(d['fixed'][i] for i in common)/len(common)
        ma=sum(d['auto'][i] for i in common)/len(common)
        allf=sum(d['fixed'].values())/len(d['fixed'])
        win=d['auto_sum'].get('probe_winner')
        print(f"{scene:5} {br:>4}  frames fixed {len(d['fixed']):3} auto {len(d['auto']):3} common {len(common):3} (from {common[0]})  "
              f"MAE fixed {mf:8.3f} mm  auto {ma:8.3f} mm  ratio {ma/mf:6.3f}  (fixed over all its frames {allf:.3f})  winner {win}")
print("-- frames >= 60 only (both streams past their first GOP)")
for scene in ['room','dof']:
    for br in ['1M','4M','16M']:
        d={}
        for mode in ['fixed','auto']:
            d[mode]={int(r['frame']):float(r['mae_mm']) for r in csv.DictReader(open(f'{OUT}/{scene}-{br}-{mode}/frames.csv'))}
        common=[i for i in sorted(set(d['fixed'])&set(d['auto'])) if i>=60]
        mf=sum(d['fixed'][i] for i in common)/len(common); ma=sum(d['auto'][i] for i in common)/len(common)
        print(f"{scene:5} {br:>4} common {len(common)}  fixed {mf:.3f}  auto {ma:.3f}  ratio {ma/mf:.3f}")
