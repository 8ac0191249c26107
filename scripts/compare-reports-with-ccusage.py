"""WIP (issue 13): compares the bridge's daily/weekly/monthly reports with ccusage 18.0.11, field by
field, for four zones. Needs ccusage installed in CCUSAGE_DIR (npm install ccusage@18.0.11) and a log
tree in CLAUDE_DIR. To become the vitest suite the issue asks for.

    CCUSAGE_DIR=/tmp/ccu CLAUDE_DIR=/tmp/rtree/claude python3 scripts/compare-reports-with-ccusage.py
"""
import json
import os
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'bridge'))
from usagebridge.store import LogStore
from usagebridge.pricing import PriceTable
from usagebridge.reports import build_report, WEEKDAYS
from usagebridge.config_store import zone_for
store=LogStore([os.environ['CLAUDE_DIR']], PriceTable.from_file(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'bridge', 'pricing.json'))); store.refresh()
def cc(kind, tz, extra=()):
    out=subprocess.run(['node','node_modules/ccusage/dist/index.js',kind,'--json','--offline','--breakdown','--timezone',tz,*extra],cwd=os.environ['CCUSAGE_DIR'],env={**os.environ,'TZ':'UTC','CLAUDE_CONFIG_DIR':os.environ['CLAUDE_DIR']},capture_output=True,text=True)
    return json.loads(out.stdout)
total_bad=0
for kind,key,ckey,opts,extra in [('daily','date','date',{},()),('weekly','week','week',{'start_of_week':1},('--start-of-week','monday')),('monthly','month','month',{},())]:
  for tz in ['UTC','Europe/Berlin','Asia/Kolkata','America/St_Johns']:
    ours=build_report(store.aggregates, store.models, store.projects, kind, zone_for(tz), **opts)[kind]
    theirs=cc(kind,tz,extra)[kind]
    bad=0
    if len(ours)!=len(theirs): bad+=1; print(kind,tz,'rows',len(ours),len(theirs))
    for o,c in zip(ours,theirs):
        ok = o[key]==c[ckey] and o['input_tokens']==c['inputTokens'] and o['output_tokens']==c['outputTokens'] and o['cache_creation_tokens']==c['cacheCreationTokens'] and o['cache_read_tokens']==c['cacheReadTokens'] and o['total_tokens']==c['totalTokens'] and abs(o['cost_usd']-c['totalCost'])<1e-6 and o['models']==sorted(c['modelsUsed'])
        ob=[(b['model'],b['input_tokens'],b['output_tokens'],b['cache_creation_tokens'],b['cache_read_tokens'],round(b['cost_usd'],6)) for b in o['model_breakdowns']]
        cb=[(b['modelName'],b['inputTokens'],b['outputTokens'],b['cacheCreationTokens'],b['cacheReadTokens'],round(b['cost'],6)) for b in c['modelBreakdowns']]
        if not ok or ob!=cb:
            bad+=1
            if bad<=2: print(kind,tz,o[key],c[ckey],ob==cb)
    print(kind,tz,'rows',len(ours),'differing',bad); total_bad+=bad
print('TOTAL differing', total_bad)
